package server_test

import (
	"bytes"
	"fmt"
	"mime/multipart"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// multipartBody encodes fields (and files: field name -> content) as
// multipart/form-data and returns the body and its Content-Type.
func multipartBody(t *testing.T, fields, files map[string]string) (body, ctype string) {
	t.Helper()
	var b bytes.Buffer
	mw := multipart.NewWriter(&b)
	for k, v := range fields {
		require.NoError(t, mw.WriteField(k, v))
	}
	for k, v := range files {
		fw, err := mw.CreateFormFile(k, k+".txt")
		require.NoError(t, err)
		_, err = fw.Write([]byte(v))
		require.NoError(t, err)
	}
	require.NoError(t, mw.Close())
	return b.String(), mw.FormDataContentType()
}

// TestFormBodies checks that every endpoint with a body takes it as DRF's
// default parsers do: JSON, URL-encoded form and multipart form.
func TestFormBodies(t *testing.T) {
	e := newEnv(t)
	tok := e.demo(school1)
	_, refresh := e.login(school1, "demo", "demo123")
	_, logout := e.login(school1, "demo", "demo123")
	access, _ := e.login(school1, "demo", "demo123")
	mp := func(method, path, bearer string, fields, files map[string]string) req {
		body, ctype := multipartBody(t, fields, files)
		return req{method: method, host: school1, path: path, body: body, ctype: ctype, bearer: bearer}
	}
	form := func(method, path, body string) req {
		return req{method: method, host: school1, path: path, body: body, ctype: "application/x-www-form-urlencoded", bearer: tok}
	}
	e.run(t, []scenario{
		{"OKTokenMultipart", mp("POST", "/api/token/", "", map[string]string{"username": "demo", "password": "demo123"}, nil), 200, nil},
		{"ErrTokenMultipartMissing", mp("POST", "/api/token/", "", map[string]string{"username": "demo"}, nil), 400,
			map[string]any{"password": []any{"This field is required."}}},
		{"ErrTokenMultipartFile", mp("POST", "/api/token/", "", map[string]string{"password": "demo123"}, map[string]string{"username": "demo"}), 400,
			map[string]any{"username": []any{"Not a valid string."}}},
		{"OKRefreshMultipart", mp("POST", "/api/token/refresh/", "", map[string]string{"refresh": refresh}, nil), 200, nil},
		{"OKBlacklistMultipart", mp("POST", "/api/token/blacklist/", "", map[string]string{"refresh": logout}, nil), 200, nil},
		{"OKVerifyMultipart", mp("POST", "/api/token/verify/", "", map[string]string{"token": access}, nil), 200, nil},
		{"ErrVerifyMultipartMissing", mp("POST", "/api/token/verify/", "", map[string]string{"tok": access}, nil), 400,
			map[string]any{"token": []any{"This field is required."}}},
		{"OKItemMultipart", mp("POST", "/api/items/", tok, map[string]string{"name": "  Multi  ", "description": "part"}, nil), 201,
			map[string]any{"name": "Multi", "description": "part"}},
		{"OKItemForm", form("POST", "/api/items/", "name=Form+item&description=d"), 201, map[string]any{"name": "Form item", "description": "d"}},
		{"ErrItemMultipartRequired", mp("POST", "/api/items/", tok, map[string]string{"description": "x"}, nil), 400,
			map[string]any{"name": []any{"This field is required."}}},
		{"ErrItemMultipartTooLong", mp("POST", "/api/items/", tok, map[string]string{"name": strings.Repeat("x", 201)}, nil), 400,
			map[string]any{"name": []any{"Ensure this field has no more than 200 characters."}}},
		{"ErrItemMultipartFile", mp("POST", "/api/items/", tok, nil, map[string]string{"name": "a file"}), 400,
			map[string]any{"name": []any{"Not a valid string."}}},
		{"ErrItemMultipartNoBoundary", req{method: "POST", host: school1, path: "/api/items/", body: "--x\r\n", ctype: "multipart/form-data", bearer: tok}, 400,
			map[string]any{"detail": "Multipart form parse error - Invalid boundary in multipart: None"}},
		{"ErrItemMultipartBroken", req{method: "POST", host: school1, path: "/api/items/", body: "garbage", ctype: "multipart/form-data; boundary=xyz", bearer: tok}, 400, nil},
		{"ErrItemMultipartTooLarge", mp("POST", "/api/items/", tok, map[string]string{"name": "x", "description": strings.Repeat("d", 1<<20)}, nil), 413,
			map[string]any{"detail": "Request body is too large."}},
		{"ErrItemOtherMediaType", req{method: "POST", host: school1, path: "/api/items/", body: "name=x", ctype: "text/csv", bearer: tok}, 415, nil},
	})
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.refresh_tokens WHERE revoked_at IS NOT NULL"), "the multipart logout revoked its token")
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.items WHERE name = 'Multi' AND description = 'part'"))
	assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.items WHERE name = 'Form item'"))
	assert.Equal(t, 2, e.count("SELECT count(*) FROM school1.items"), "refused bodies wrote nothing")

	t.Run("OKUpdateMultipart", func(t *testing.T) {
		e.t = t
		var id int64
		require.NoError(t, e.db.Pool.QueryRow(t.Context(), "SELECT id FROM school1.items WHERE name = 'Multi'").Scan(&id))
		path := fmt.Sprintf("/api/items/%d/", id)
		r := e.do(mp("PUT", path, tok, map[string]string{"name": "Put"}, nil))
		require.Equal(t, 200, r.status, "%s", r.body)
		assert.Equal(t, "Put", r.json(t)["name"])
		r = e.do(mp("PATCH", path, tok, map[string]string{"description": "patched"}, nil))
		require.Equal(t, 200, r.status, "%s", r.body)
		assert.Equal(t, 1, e.count("SELECT count(*) FROM school1.items WHERE id = $1 AND name = 'Put' AND description = 'patched'", id))
		r = e.do(form("PATCH", path, "name="))
		require.Equal(t, 400, r.status)
		assert.Equal(t, []any{"This field may not be blank."}, r.json(t)["name"])
	})
}
