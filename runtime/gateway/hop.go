package gateway

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"golang.org/x/net/http/httpguts"
)

// The hop is how the gateway forwards an ordinary inference request: the
// handler's own goroutine writes it on a pooled HTTP/1.1 connection and
// reads the answer back, where net/http's Transport hands each request to a
// write goroutine and each answer back from a read goroutine. On loopback
// with a trivial backend that is most of what a proxied request costs: the
// hop forwards about 1.4 times as many requests a second on two cores
// (BenchmarkGatewayAddedLatencyAndThroughput prints the ratio to direct).
//
// It takes requests whose body is known and small (maxHopBody), so the body
// is in memory and the request can be sent again on a fresh connection when
// a reused one turns out to have been closed by the backend before it
// answered a byte (an idle backend closing its end; the request was not
// processed). Everything else (larger or chunked bodies, upgrades) goes
// through httputil.ReverseProxy and the Transport.

// maxHopBody is the largest request body the hop buffers.
const maxHopBody = 64 << 10

// maxIdlePerBackend bounds the idle connections kept to one backend, and
// hopIdleTimeout how long one is kept idle.
const (
	maxIdlePerBackend = 256
	hopIdleTimeout    = 90 * time.Second
)

// hopBodies lends the hop its request-body buffers.
var hopBodies = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// maxHopHeader bounds the bytes of an answer's status line and headers
// (1xx answers included), and maxInformational the 1xx answers skipped:
// a backend cannot make the gateway hold more (Transport's limit is 10 MiB).
const (
	maxHopHeader     = 1 << 20
	maxInformational = 5
)

var errHeaderTooLarge = errors.New("the revision's answer headers are over 1 MiB")

// budgetConn is a connection whose reads stop at a budget while one is
// set (left < 0: none), so that parsing an answer's headers is bounded.
type budgetConn struct {
	net.Conn
	left int64
}

func (b *budgetConn) Read(p []byte) (int, error) {
	if b.left < 0 {
		return b.Conn.Read(p)
	}
	if b.left == 0 {
		return 0, errHeaderTooLarge
	}
	if int64(len(p)) > b.left {
		p = p[:b.left]
	}
	n, err := b.Conn.Read(p)
	b.left -= int64(n)
	return n, err
}

// hopConn is one connection to a backend.
type hopConn struct {
	c    *budgetConn
	raw  syscall.RawConn // for idleState (nil: not at hand)
	br   *bufio.Reader
	bw   *bufio.Writer
	idle time.Time // when it was put back
}

// alive says whether an idle connection may carry a request: the backend
// has neither closed it nor sent anything on it while it was idle (bytes
// no request asked for would be taken as the next caller's answer).
func (c *hopConn) alive() bool {
	if c.br.Buffered() > 0 {
		return false
	}
	if c.raw == nil {
		return true
	}
	open, sent := idleState(c.raw)
	return open && !sent
}

// hopPool is the idle connections to one backend (host:port).
type hopPool struct {
	addr   string
	dialer *net.Dialer
	mu     sync.Mutex
	idle   []*hopConn
	closed bool
}

func newHopPool(addr string) *hopPool {
	return &hopPool{addr: addr, dialer: &net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}}
}

// get is an idle connection that is still alive (reused true) or, with
// none, a new one.
func (p *hopPool) get(ctx context.Context, now time.Time) (c *hopConn, reused bool, err error) {
	for {
		p.mu.Lock()
		if len(p.idle) == 0 {
			p.mu.Unlock()
			break
		}
		c = p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		p.mu.Unlock()
		if now.Sub(c.idle) < hopIdleTimeout && c.alive() {
			return c, true, nil
		}
		_ = c.c.Close()
	}
	c, err = p.dial(ctx)
	return c, false, err
}

// dial is a new connection.
func (p *hopPool) dial(ctx context.Context) (*hopConn, error) {
	nc, err := p.dialer.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, err
	}
	bc := &budgetConn{Conn: nc, left: -1}
	c := &hopConn{c: bc, br: bufio.NewReaderSize(bc, 4<<10), bw: bufio.NewWriterSize(bc, 4<<10)}
	if sc, ok := nc.(syscall.Conn); ok {
		c.raw, _ = sc.SyscallConn()
	}
	return c, nil
}

// put keeps c for the next request, unless the pool is full or closed, or
// the backend sent more than the answer.
func (p *hopPool) put(c *hopConn, now time.Time) {
	c.idle = now
	p.mu.Lock()
	if p.closed || len(p.idle) >= maxIdlePerBackend || c.br.Buffered() > 0 {
		p.mu.Unlock()
		_ = c.c.Close()
		return
	}
	p.idle = append(p.idle, c)
	p.mu.Unlock()
}

// close drops the idle connections; those in use are closed when they come back.
func (p *hopPool) close() {
	p.mu.Lock()
	idle := p.idle
	p.idle, p.closed = nil, true
	p.mu.Unlock()
	for _, c := range idle {
		_ = c.c.Close()
	}
}

// hopHeaders are hop-by-hop (RFC 9110 7.6.1), and X-Forwarded-* and
// Forwarded, which the gateway does not pass on (as ReverseProxy with
// Rewrite does not).
var hopHeaders = []string{"Connection", "Proxy-Connection", "Keep-Alive", "Proxy-Authenticate", "Proxy-Authorization",
	"Te", "Trailer", "Transfer-Encoding", "Upgrade"}

var forwardedHeaders = []string{"Forwarded", "X-Forwarded-For", "X-Forwarded-Host", "X-Forwarded-Proto"}

// removeHopHeaders deletes the hop-by-hop headers of h, those its
// Connection header names included.
func removeHopHeaders(h http.Header) {
	for _, v := range h["Connection"] {
		for f := range strings.SplitSeq(v, ",") {
			if f = textproto.TrimString(f); f != "" {
				h.Del(f)
			}
		}
	}
	for _, k := range hopHeaders {
		delete(h, k)
	}
}

// hoppable says whether r goes through the hop: a body of known length up
// to maxHopBody, no upgrade, HTTP/1.x.
func hoppable(r *http.Request) bool {
	return r.ProtoMajor == 1 && r.ContentLength >= 0 && r.ContentLength <= maxHopBody &&
		r.Header.Get("Upgrade") == "" && len(r.TransferEncoding) == 0
}

// errNoAnswer marks a failure before any byte of the answer was read.
type errNoAnswer struct{ err error }

func (e *errNoAnswer) Error() string { return e.err.Error() }
func (e *errNoAnswer) Unwrap() error { return e.err }

// retryable is a reused connection that the backend closed before any
// answer, for a request that may be sent twice: as net/http's Transport,
// only idempotent methods, or a request that says it is idempotent with
// an Idempotency-Key (the backend may have taken it before closing).
func retryable(r *http.Request, err error) bool {
	var na *errNoAnswer
	if !errors.As(err, &na) || !(errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)) {
		return false
	}
	switch r.Method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	_, key := r.Header["Idempotency-Key"]
	_, xkey := r.Header["X-Idempotency-Key"]
	return key || xkey
}

// hop forwards r to the backend base (an http://host:port URL) with the
// path given, and writes its answer to w. err is set, and nothing written
// to w, when the backend could not be reached or gave no answer.
func (g *Gateway) hop(w http.ResponseWriter, r *http.Request, base *url.URL, pool *hopPool) error {
	body := hopBodies.Get().(*bytes.Buffer)
	body.Reset()
	defer hopBodies.Put(body)
	if r.ContentLength > 0 {
		if _, err := io.CopyN(body, r.Body, r.ContentLength); err != nil {
			return &clientError{err}
		}
	}
	// The request is the handler's to change (serve has already set the
	// backend's path and dropped the caller's credentials).
	removeHopHeaders(r.Header)
	for _, k := range forwardedHeaders {
		delete(r.Header, k)
	}
	delete(r.Header, "Expect") // the body is already read
	delete(r.Header, "Content-Length")
	c, reused, err := pool.get(r.Context(), time.Now())
	if err != nil {
		return err
	}
	err = g.roundTrip(w, r, base.Host, body.Bytes(), c, pool)
	if err == nil || !reused || !retryable(r, err) {
		return err
	}
	// Once more, on a new connection (other idle ones may be as stale).
	if c, err = pool.dial(r.Context()); err != nil {
		return err
	}
	return g.roundTrip(w, r, base.Host, body.Bytes(), c, pool)
}

// writeRequest writes r's request line and headers, with host as Host, and
// body, on bw.
func writeRequest(bw *bufio.Writer, r *http.Request, host string, body []byte) error {
	bw.WriteString(r.Method)
	bw.WriteByte(' ')
	bw.WriteString(r.URL.RequestURI())
	bw.WriteString(" HTTP/1.1\r\nHost: ")
	bw.WriteString(host)
	bw.WriteString("\r\n")
	writeHeader(bw, r.Header)
	if len(body) > 0 || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		bw.WriteString("Content-Length: ")
		bw.WriteString(strconv.Itoa(len(body)))
		bw.WriteString("\r\n")
	}
	bw.WriteString("\r\n")
	bw.Write(body)
	return bw.Flush()
}

// writeHeader writes h as Header.Write does (a CR or LF in a value becomes a
// space, so a value cannot start another header), in map order: Header.Write
// sorts the keys, which costs an allocation and a sort on every request and
// means nothing to the backend.
func writeHeader(bw *bufio.Writer, h http.Header) {
	for k, vs := range h {
		if !httpguts.ValidHeaderFieldName(k) {
			continue // as Header.Write: a name that is not a token is not sent
		}
		for _, v := range vs {
			bw.WriteString(k)
			bw.WriteString(": ")
			if strings.ContainsAny(v, "\r\n") {
				v = headerNewlineToSpace.Replace(v)
			}
			bw.WriteString(textproto.TrimString(v))
			bw.WriteString("\r\n")
		}
	}
}

var headerNewlineToSpace = strings.NewReplacer("\n", " ", "\r", " ")

// clientError is the caller's body failing to arrive.
type clientError struct{ err error }

func (e *clientError) Error() string { return "reading the request body: " + e.err.Error() }
func (e *clientError) Unwrap() error { return e.err }

// roundTrip sends out on c and copies the answer to w; c goes back to the
// pool only after a whole answer on a connection both ends keep open.
func (g *Gateway) roundTrip(w http.ResponseWriter, out *http.Request, host string, body []byte, c *hopConn, pool *hopPool) error {
	// The caller going away (or the server ending the request) unblocks
	// any read or write on c; c is then not reused.
	stop := context.AfterFunc(out.Context(), func() { _ = c.c.SetDeadline(time.Unix(1, 0)) })
	keep := false
	defer func() {
		if !stop() || !keep {
			_ = c.c.Close()
			return
		}
		pool.put(c, time.Now())
	}()
	if err := writeRequest(c.bw, out, host, body); err != nil {
		return &errNoAnswer{err}
	}
	var resp *http.Response
	c.c.left = maxHopHeader - int64(c.br.Buffered())
	for n := 0; ; n++ {
		if _, err := c.br.Peek(1); err != nil {
			return &errNoAnswer{err}
		}
		var err error
		if resp, err = http.ReadResponse(c.br, out); err != nil {
			return err
		}
		// Informational answers (103 Early Hints) are not passed on.
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
		if n == maxInformational {
			return fmt.Errorf("the revision sent more than %d informational (1xx) answers", maxInformational)
		}
	}
	c.c.left = -1
	defer resp.Body.Close()
	removeHopHeaders(resp.Header)
	delete(resp.Header, HeaderRevision) // the gateway's to say
	h := w.Header()
	for k, v := range resp.Header {
		h[k] = v
	}
	if len(resp.Trailer) > 0 {
		for k := range resp.Trailer {
			h.Add("Trailer", k)
		}
	}
	w.WriteHeader(resp.StatusCode)
	streaming := resp.ContentLength < 0
	buf := copyBuffers.Get()
	defer copyBuffers.Put(buf)
	for {
		n, rerr := resp.Body.Read(buf)
		if n > 0 {
			if _, werr := w.Write(buf[:n]); werr != nil {
				return nil // the caller went away: nothing more to tell it
			}
			if streaming {
				if f, ok := w.(http.Flusher); ok {
					f.Flush()
				}
			}
		}
		if rerr == io.EOF {
			break
		}
		if rerr != nil {
			g.cfg.Logger.Warn("the revision's answer broke off", "err", rerr)
			return nil // the status is sent: the caller sees a cut answer
		}
	}
	for k, v := range resp.Trailer {
		h[http.TrailerPrefix+k] = v // declared or not, as ReverseProxy
	}
	keep = !resp.Close
	return nil
}
