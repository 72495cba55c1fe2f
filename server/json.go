package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"
)

// maxBody is the largest request body accepted, in bytes.
const maxBody = 1 << 20

// jsonBuffers recycles response bodies between requests: encoding into a
// reused buffer spares allocating (and collecting) one copy of every body.
var jsonBuffers = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxPooledJSON keeps the rare huge body's buffer from being held forever.
const maxPooledJSON = 64 << 10

// writeJSON writes v as the JSON response with the given status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	buf := jsonBuffers.Get().(*bytes.Buffer)
	defer func() {
		if buf.Cap() <= maxPooledJSON {
			buf.Reset()
			jsonBuffers.Put(buf)
		}
	}()
	// Encode writes what json.Marshal would, plus the newline, and writes
	// nothing on error.
	if err := json.NewEncoder(buf).Encode(v); err != nil {
		// Only our own response structs reach here; they always marshal.
		panic(err)
	}
	h := w.Header()
	h.Set("Content-Type", "application/json")
	// With the length known, net/http need not chunk bodies over its 2 KiB
	// buffer (a page of items), which costs both ends.
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	_, _ = w.Write(buf.Bytes())
}

// apiTime is a time as the API writes it: RFC 3339 in UTC, the same bytes as
// time.Time's JSON. It marshals as text because encoding/json copies text
// as a string but re-scans (compacts) the output of every MarshalJSON call:
// for the two times of each item, about a third of the CPU of encoding a
// page of items.
type apiTime time.Time

// optTime is t as the API writes it, nil for nil.
func optTime(t *time.Time) *apiTime {
	if t == nil {
		return nil
	}
	at := apiTime(*t)
	return &at
}

// MarshalText returns t in UTC as RFC 3339 with as many fractional second
// digits as needed; like time.Time's MarshalJSON it fails for years outside
// 0-9999.
func (t apiTime) MarshalText() ([]byte, error) { return time.Time(t).UTC().MarshalText() }

// readBody reads the whole request body, within maxBody, and checks that it
// is valid UTF-8.
func readBody(r *http.Request) ([]byte, error) {
	if r.ContentLength > maxBody {
		return nil, errBodyTooLarge
	}
	b, err := io.ReadAll(http.MaxBytesReader(nil, r.Body, maxBody))
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) {
		return nil, errBodyTooLarge
	}
	if err != nil {
		return nil, errDetail(http.StatusBadRequest, "Could not read the request body.")
	}
	if !utf8.Valid(b) {
		return nil, errDetail(http.StatusBadRequest, "The request body is not valid UTF-8.")
	}
	return b, nil
}

// decodeObject reads a JSON object body (or, when allowForm, a URL-encoded
// or multipart form: DRF's default parsers) into a map of raw values, as
// DRF's parsers would. An empty body is an empty object. Other content types
// get 415.
func decodeObject(r *http.Request, allowForm bool) (map[string]json.RawMessage, error) {
	body, err := readBody(r)
	if err != nil {
		return nil, err
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		// DRF ignores a body that does not say what it is.
		return map[string]json.RawMessage{}, nil
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		mt = ct
	}
	switch {
	case mt == "application/json" || (len(mt) > 5 && mt[len(mt)-5:] == "+json"):
		if len(bytes.TrimSpace(body)) == 0 {
			return map[string]json.RawMessage{}, nil
		}
		var v any
		dec := json.NewDecoder(bytes.NewReader(body))
		dec.UseNumber()
		if err := dec.Decode(&v); err != nil || dec.More() {
			msg := "unexpected data after the JSON value"
			if err != nil {
				msg = err.Error()
			}
			return nil, errDetail(http.StatusBadRequest, "JSON parse error - "+msg)
		}
		if _, ok := v.(map[string]any); !ok {
			return nil, &apiError{status: http.StatusBadRequest, body: map[string][]string{
				"non_field_errors": {fmt.Sprintf("Invalid data. Expected a dictionary, but got %s.", jsonKind(v))},
			}}
		}
		var m map[string]json.RawMessage
		_ = json.Unmarshal(body, &m) // already known to be an object
		return m, nil
	case allowForm && mt == "application/x-www-form-urlencoded":
		vals, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, errDetail(http.StatusBadRequest, "Form parse error - "+err.Error())
		}
		m := make(map[string]json.RawMessage, len(vals))
		for k, v := range vals {
			b, _ := json.Marshal(v[len(v)-1])
			m[k] = b
		}
		return m, nil
	case allowForm && mt == "multipart/form-data":
		return decodeMultipart(body, params["boundary"])
	}
	return nil, errDetail(http.StatusUnsupportedMediaType, fmt.Sprintf("Unsupported media type %q in request.", ct))
}

// decodeMultipart reads a multipart/form-data body as DRF's MultiPartParser
// and request.data do: the last value of each field wins, and a file stands
// where a field's text should be, which no string field accepts.
func decodeMultipart(body []byte, boundary string) (map[string]json.RawMessage, error) {
	if boundary == "" {
		return nil, errDetail(http.StatusBadRequest, "Multipart form parse error - Invalid boundary in multipart: None")
	}
	// The body is already in memory and within maxBody, so no part goes to disk.
	form, err := multipart.NewReader(bytes.NewReader(body), boundary).ReadForm(maxBody)
	if err != nil {
		return nil, errDetail(http.StatusBadRequest, "Multipart form parse error - "+err.Error())
	}
	defer func() { _ = form.RemoveAll() }()
	m := make(map[string]json.RawMessage, len(form.Value)+len(form.File))
	for k, v := range form.Value {
		b, _ := json.Marshal(v[len(v)-1])
		m[k] = b
	}
	for k := range form.File {
		m[k] = json.RawMessage(`{"file": true}`)
	}
	return m, nil
}

func jsonKind(v any) string {
	switch v.(type) {
	case []any:
		return "list"
	case string:
		return "str"
	case json.Number:
		return "number"
	case bool:
		return "bool"
	case nil:
		return "null"
	}
	return "object"
}

// stringField is one optional string field of a request body.
type stringField struct {
	present bool
	null    bool
	value   string
	invalid bool
}

// field reads key from a decoded body as a string, the way DRF's CharField
// does: numbers are accepted as their text, other types are invalid.
func field(m map[string]json.RawMessage, key string) stringField {
	raw, ok := m[key]
	if !ok {
		return stringField{}
	}
	var v any
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		return stringField{present: true, invalid: true}
	}
	switch t := v.(type) {
	case nil:
		return stringField{present: true, null: true}
	case string:
		return stringField{present: true, value: t}
	case json.Number:
		return stringField{present: true, value: t.String()}
	}
	return stringField{present: true, invalid: true}
}

// requiredString validates a required, non-blank string field, recording
// DRF's messages in fe. It returns the value when valid.
func requiredString(fe fieldErrors, m map[string]json.RawMessage, key string, maxLen int) (string, bool) {
	f := field(m, key)
	switch {
	case !f.present:
		fe.add(key, "This field is required.")
	case f.null:
		fe.add(key, "This field may not be null.")
	case f.invalid:
		fe.add(key, "Not a valid string.")
	case strings.ContainsRune(f.value, 0):
		fe.add(key, "Null characters are not allowed.")
	case strings.TrimSpace(f.value) == "":
		fe.add(key, "This field may not be blank.")
	case maxLen > 0 && utf8.RuneCountInString(f.value) > maxLen:
		fe.add(key, fmt.Sprintf("Ensure this field has no more than %d characters.", maxLen))
	default:
		// DRF's CharField trims surrounding whitespace.
		return strings.TrimSpace(f.value), true
	}
	return "", false
}
