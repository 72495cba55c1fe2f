// Package transfer moves a tenant between databases: Export writes one
// tenant (its registry rows, its tenant migration version and the rows of
// every table of its schema) to a portable archive, and Import creates the
// tenant from one, in the same database or another, plain PostgreSQL or
// Citus. tenantctl tenant export, import and clone are built on them.
//
// # Guarantees
//
// Export reads in one REPEATABLE READ, READ ONLY transaction, so the
// archive is one consistent snapshot of the tenant and its registry rows,
// taken while the tenant keeps serving. It streams: each table goes
// through COPY ... TO STDOUT into the writer in frames of 64 KiB (a longer
// row gets a frame of its own), so memory does not grow with the tenant's
// size.
//
// Import runs in one transaction: it registers the tenant, creates its
// schema at the archive's migration versions (the target's own migration
// files, which must include every version the archive names), loads the
// rows with COPY ... FROM STDIN (ids kept, identity and serial sequences
// set past them), verifies the archive's checksum and row counts, migrates
// the tenant forward to the target's newest migration, and only then
// commits. Any failure (a taken schema or domain, a truncated or altered
// archive, a row the target refuses, an interrupted import) leaves
// nothing: no schema, no client row, no domain.
//
// # Format (version 1)
//
// An archive is the line "TENANTCTL-ARCHIVE 1\n" followed by frames. A
// frame is a kind byte, the payload's length as a 4-byte big-endian
// unsigned integer, and the payload:
//
//	'H' header: JSON (Header): the tenant's registry fields, its domains,
//	    the tenant migration versions applied to it, its tables with their
//	    columns in COPY order, its identity and serial sequences.
//	'D' data: a piece of the current table's COPY text-format stream
//	    (PostgreSQL's default COPY format: portable across versions and
//	    between plain PostgreSQL and Citus). Zero or more per table.
//	'E' end of the current table (empty payload). The tables come in the
//	    header's order, each as its 'D' frames and one 'E'.
//	'T' trailer: JSON (Trailer): each table's row count.
//	'S' the SHA-256 of every byte before this frame (32 bytes), the last
//	    frame; nothing may follow it.
//
// The header's table order loads a referenced table before those whose
// foreign keys reference it. COPY names the header's columns, so the
// target's columns may be in another order.
package transfer

import (
	"bufio"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"hash"
	"io"
	"time"
)

// magic opens every archive; its number is the format version.
const magic = "TENANTCTL-ARCHIVE 1\n"

// Frame kinds.
const (
	kindHeader  byte = 'H'
	kindData    byte = 'D'
	kindEnd     byte = 'E'
	kindTrailer byte = 'T'
	kindSum     byte = 'S'
)

// chunkSize is the largest data frame Export writes (a row longer than
// that gets a frame of its own).
const chunkSize = 64 << 10

// maxMeta bounds the header and trailer an import reads into memory.
const maxMeta = 16 << 20

// ErrDamaged is returned by Import for an archive that is truncated,
// altered or not an archive at all.
var ErrDamaged = errors.New("the archive is damaged")

// Header is an archive's description of its tenant.
type Header struct {
	Format     int       `json:"format"`
	ExportedAt time.Time `json:"exported_at"`
	Tenant     Tenant    `json:"tenant"`
	Domains    []Domain  `json:"domains"`
	// Migrations are the tenant migration versions applied to the schema.
	Migrations []string   `json:"migrations"`
	Tables     []Table    `json:"tables"`
	Sequences  []Sequence `json:"sequences"`
}

// Tenant is the tenant's row of public.clients: the fields that move with
// it. Its id does not (the target numbers its own tenants), nor the demo
// flag (the tenant was not made by the target's tenantctl demo).
type Tenant struct {
	Schema    string     `json:"schema"`
	Name      string     `json:"name"`
	OnTrial   bool       `json:"on_trial"`
	PaidUntil *string    `json:"paid_until"` // YYYY-MM-DD
	CreatedAt time.Time  `json:"created_at"`
	DeletedAt *time.Time `json:"deleted_at"` // deleted softly: imported deleted too
}

// Domain is one of the tenant's domains.
type Domain struct {
	Domain  string `json:"domain"`
	Primary bool   `json:"primary"`
}

// Table is one table of the tenant's schema and the columns its rows carry.
type Table struct {
	Name    string   `json:"name"`
	Columns []string `json:"columns"`
}

// Sequence is a column that takes its values from a sequence it owns, and
// that sequence's last value in the source (0: never used).
type Sequence struct {
	Table     string `json:"table"`
	Column    string `json:"column"`
	LastValue int64  `json:"last_value"`
}

// Trailer closes the data.
type Trailer struct {
	// Rows is each table's row count.
	Rows map[string]int64 `json:"rows"`
}

// frameWriter writes frames to w, hashing every byte but the last frame's.
type frameWriter struct {
	w   *bufio.Writer
	h   hash.Hash
	n   int64 // bytes written
	hdr [5]byte
}

func newFrameWriter(w io.Writer) *frameWriter {
	return &frameWriter{w: bufio.NewWriterSize(w, chunkSize+5), h: sha256.New()}
}

func (fw *frameWriter) raw(p []byte, hashed bool) error {
	if hashed {
		fw.h.Write(p)
	}
	n, err := fw.w.Write(p)
	fw.n += int64(n)
	return err
}

func (fw *frameWriter) frame(kind byte, payload []byte) error {
	fw.hdr[0] = kind
	binary.BigEndian.PutUint32(fw.hdr[1:], uint32(len(payload)))
	if err := fw.raw(fw.hdr[:], true); err != nil {
		return err
	}
	return fw.raw(payload, true)
}

// finish writes the checksum frame and flushes.
func (fw *frameWriter) finish() error {
	sum := fw.h.Sum(nil)
	fw.hdr[0] = kindSum
	binary.BigEndian.PutUint32(fw.hdr[1:], uint32(len(sum)))
	if err := fw.raw(fw.hdr[:], false); err != nil {
		return err
	}
	if err := fw.raw(sum, false); err != nil {
		return err
	}
	return fw.w.Flush()
}

// chunker is the io.Writer COPY TO writes a table into, one row per Write:
// it gathers rows into data frames of up to chunkSize.
type chunker struct {
	fw  *frameWriter
	buf []byte
}

func (c *chunker) Write(p []byte) (int, error) {
	if len(c.buf)+len(p) > chunkSize {
		if err := c.flush(); err != nil {
			return 0, err
		}
	}
	if len(p) > chunkSize {
		return len(p), c.fw.frame(kindData, p)
	}
	c.buf = append(c.buf, p...)
	return len(p), nil
}

func (c *chunker) flush() error {
	if len(c.buf) == 0 {
		return nil
	}
	err := c.fw.frame(kindData, c.buf)
	c.buf = c.buf[:0]
	return err
}

// frameReader reads an archive's frames, hashing every byte before the
// checksum frame.
type frameReader struct {
	r *bufio.Reader
	h hash.Hash
	n int64 // bytes read
	// left is how much of the current data frame's payload is unread.
	left uint32
}

func newFrameReader(r io.Reader) *frameReader {
	return &frameReader{r: bufio.NewReaderSize(r, chunkSize+5), h: sha256.New()}
}

// damaged describes what is wrong with the archive, as an ErrDamaged.
func damaged(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrDamaged, fmt.Sprintf(format, args...))
}

// full reads len(p) bytes, hashing them unless it reads the checksum. An
// archive that ends early is truncated.
func (fr *frameReader) full(p []byte, hashed bool) error {
	n, err := io.ReadFull(fr.r, p)
	fr.n += int64(n)
	if hashed {
		fr.h.Write(p[:n])
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return damaged("it ends early (truncated) after %d bytes", fr.n)
	}
	return err
}

// readMagic checks the archive's first line.
func (fr *frameReader) readMagic() error {
	p := make([]byte, len(magic))
	if err := fr.full(p, true); err != nil {
		if errors.Is(err, ErrDamaged) {
			return damaged("it is not a tenantctl archive (too short)")
		}
		return err // the reader's own, such as Clone's export failing
	}
	if string(p) != magic {
		if string(p[:len(magic)-2]) == magic[:len(magic)-2] {
			return fmt.Errorf("the archive is in format %q, which this tenantctl cannot read (it reads format 1)", p[len(magic)-2:len(magic)-1])
		}
		return damaged("it is not a tenantctl archive")
	}
	return nil
}

// next reads the next frame's kind and length.
func (fr *frameReader) next() (byte, uint32, error) {
	var hdr [5]byte
	if err := fr.full(hdr[:1], false); err != nil {
		return 0, 0, err
	}
	if hdr[0] != kindSum {
		fr.h.Write(hdr[:1])
	}
	if err := fr.full(hdr[1:], hdr[0] != kindSum); err != nil {
		return 0, 0, err
	}
	return hdr[0], binary.BigEndian.Uint32(hdr[1:]), nil
}

// meta reads a frame of the given kind whose payload is read whole.
func (fr *frameReader) meta(kind byte, what string) ([]byte, error) {
	k, n, err := fr.next()
	if err != nil {
		return nil, err
	}
	if k != kind {
		return nil, damaged("a frame of kind %q where its %s should be", k, what)
	}
	if n > maxMeta {
		return nil, damaged("its %s claims %d bytes", what, n)
	}
	p := make([]byte, n)
	return p, fr.full(p, kind != kindSum)
}

// table returns the reader of the next table's COPY stream, which ends
// (io.EOF) at the table's end frame.
func (fr *frameReader) table() *tableReader { return &tableReader{fr: fr} }

type tableReader struct {
	fr   *frameReader
	done bool
	err  error // the first error other than io.EOF
}

func (t *tableReader) Read(p []byte) (int, error) {
	if t.err != nil {
		return 0, t.err
	}
	if t.done {
		return 0, io.EOF
	}
	fr := t.fr
	for fr.left == 0 {
		k, n, err := fr.next()
		if err != nil {
			t.err = err
			return 0, err
		}
		switch k {
		case kindData:
			fr.left = n
		case kindEnd:
			if n != 0 {
				t.err = damaged("a table's end frame carries %d bytes", n)
				return 0, t.err
			}
			t.done = true
			return 0, io.EOF
		default:
			t.err = damaged("a frame of kind %q inside a table's rows", k)
			return 0, t.err
		}
	}
	if uint32(len(p)) > fr.left {
		p = p[:fr.left]
	}
	if err := fr.full(p, true); err != nil {
		t.err = err
		return 0, err
	}
	fr.left -= uint32(len(p))
	return len(p), nil
}

// drain reads the rest of the table.
func (t *tableReader) drain() error {
	_, err := io.Copy(io.Discard, t)
	return err
}

// finish reads the trailer and the checksum, and checks that nothing
// follows: it returns the trailer, or an ErrDamaged.
func (fr *frameReader) finish() (Trailer, error) {
	raw, err := fr.meta(kindTrailer, "trailer")
	if err != nil {
		return Trailer{}, err
	}
	want := fr.h.Sum(nil)
	sum, err := fr.meta(kindSum, "checksum")
	if err != nil {
		return Trailer{}, err
	}
	if len(sum) != sha256.Size || string(sum) != string(want) {
		return Trailer{}, damaged("its SHA-256 checksum does not match its contents (altered)")
	}
	if _, err := fr.r.ReadByte(); err != io.EOF {
		if err == nil {
			return Trailer{}, damaged("bytes follow its checksum")
		}
		return Trailer{}, err
	}
	var tr Trailer
	if err := jsonStrict(raw, &tr); err != nil {
		return Trailer{}, damaged("its trailer: %v", err)
	}
	return tr, nil
}
