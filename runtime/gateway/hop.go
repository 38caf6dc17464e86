package gateway

import (
	"bufio"
	"bytes"
	"context"
	"errors"
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

// hopConn is one connection to a backend.
type hopConn struct {
	c    net.Conn
	br   *bufio.Reader
	bw   *bufio.Writer
	idle time.Time // when it was put back
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

// get is an idle connection (reused true) or a new one.
func (p *hopPool) get(ctx context.Context, now time.Time) (c *hopConn, reused bool, err error) {
	p.mu.Lock()
	for len(p.idle) > 0 {
		c = p.idle[len(p.idle)-1]
		p.idle = p.idle[:len(p.idle)-1]
		if now.Sub(c.idle) < hopIdleTimeout {
			p.mu.Unlock()
			return c, true, nil
		}
		_ = c.c.Close()
	}
	p.mu.Unlock()
	nc, err := p.dialer.DialContext(ctx, "tcp", p.addr)
	if err != nil {
		return nil, false, err
	}
	return &hopConn{c: nc, br: bufio.NewReaderSize(nc, 4<<10), bw: bufio.NewWriterSize(nc, 4<<10)}, false, nil
}

// put keeps c for the next request, unless the pool is full or closed.
func (p *hopPool) put(c *hopConn, now time.Time) {
	c.idle = now
	p.mu.Lock()
	if p.closed || len(p.idle) >= maxIdlePerBackend {
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

// retryable is a reused connection that the backend had closed: it
// answered nothing, so it did not take the request.
func retryable(err error) bool {
	var na *errNoAnswer
	return errors.As(err, &na) && (errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE))
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
	for attempt := 0; ; attempt++ {
		c, reused, err := pool.get(r.Context(), time.Now())
		if err != nil {
			return err
		}
		err = g.roundTrip(w, r, base.Host, body.Bytes(), c, pool)
		if err == nil {
			return nil
		}
		if !reused || attempt > 0 || !retryable(err) {
			return err
		}
	}
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
	if err := r.Header.Write(bw); err != nil {
		return err
	}
	if len(body) > 0 || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		bw.WriteString("Content-Length: ")
		bw.WriteString(strconv.Itoa(len(body)))
		bw.WriteString("\r\n")
	}
	bw.WriteString("\r\n")
	bw.Write(body)
	return bw.Flush()
}

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
	for {
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
	}
	defer resp.Body.Close()
	removeHopHeaders(resp.Header)
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
		h[k] = v
	}
	keep = !resp.Close
	return nil
}
