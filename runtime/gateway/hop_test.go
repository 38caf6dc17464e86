package gateway

import (
	"bufio"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	v1 "github.com/ferry-ml/ferry/api/v1"
)

// oneRoute is a table sending tenant a's deployment d to url.
func oneRoute(url string) v1.RoutingTable {
	return v1.RoutingTable{Routes: []v1.Route{{Tenant: "a", Deployment: "d", KeyHashes: []string{hashKey(key)},
		Revisions: []v1.RouteRevision{{Name: "d-r1", URL: url, Weight: 100, Ready: 1}}}}}
}

func send(t *testing.T, c *http.Client, req *http.Request) (*http.Response, string) {
	t.Helper()
	req.Header.Set(v1.HeaderAPIKey, key)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

// TestTheHopForwardsTheRequestAndAnswerWithoutHopByHopHeaders: method,
// path, query, body and end-to-end headers arrive; hop-by-hop headers
// (and those Connection names), X-Forwarded-* and the credentials do not,
// either way; Host is the backend's. Bodies over maxHopBody and chunked
// ones go through ReverseProxy and arrive whole too.
func TestTheHopForwardsTheRequestAndAnswerWithoutHopByHopHeaders(t *testing.T) {
	var seen atomic.Value
	be := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen.Store(r.Clone(context.Background()))
		w.Header().Set("X-Model", "iris")
		w.Header().Set("Keep-Alive", "timeout=5")
		w.Header().Set("Connection", "X-Secret-Hop")
		w.Header().Set("X-Secret-Hop", "1")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(r.Method + " " + r.URL.RequestURI() + " " + string(b)))
	}))
	t.Cleanup(be.Close)
	cp := &fakeCP{table: oneRoute(be.URL)}
	g, s := newGateway(t, cp, time.Second)
	for _, size := range []int{0, 11, maxHopBody, maxHopBody + 1, -1} {
		body := strings.Repeat("x", max(size, 0))
		var rd io.Reader = strings.NewReader(body)
		if size == -1 {
			body = "chunked body"
			rd = io.MultiReader(strings.NewReader("chunked "), strings.NewReader("body")) // no length: chunked
		}
		req, _ := http.NewRequest("POST", s.URL+"/serve/a/d/v2/models/d/infer?x=1&y=%2F", rd)
		req.Header.Set("Connection", "X-Drop-Me")
		req.Header.Set("X-Drop-Me", "1")
		req.Header.Set("Keep-Alive", "300")
		req.Header.Set("X-Forwarded-For", "6.6.6.6")
		req.Header.Set("X-Request-Id", "r-1")
		resp, got := send(t, http.DefaultClient, req)
		if want := "POST /v2/models/d/infer?x=1&y=%2F " + body; resp.StatusCode != 200 || got != want {
			t.Fatalf("body of %d bytes: %d %q, want %.80q", size, resp.StatusCode, got, want)
		}
		if resp.Header.Get("X-Model") != "iris" || resp.Header.Get("X-Secret-Hop") != "" || resp.Header.Get("Keep-Alive") != "" {
			t.Errorf("body of %d bytes: answer headers %v", size, resp.Header)
		}
		r := seen.Load().(*http.Request)
		if r.Header.Get("X-Request-Id") != "r-1" || r.Header.Get("X-Drop-Me") != "" || r.Header.Get("Keep-Alive") != "" ||
			r.Header.Get("X-Forwarded-For") != "" || r.Header.Get(v1.HeaderAPIKey) != "" || r.Host != strings.TrimPrefix(be.URL, "http://") {
			t.Errorf("body of %d bytes: the backend saw Host %q and headers %v", size, r.Host, r.Header)
		}
	}
	req, _ := http.NewRequest("GET", s.URL+"/serve/a/d/v2/health/ready", nil)
	if resp, got := send(t, http.DefaultClient, req); resp.StatusCode != 200 || got != "GET /v2/health/ready " {
		t.Fatalf("GET: %d %q", resp.StatusCode, got)
	}
	// The small requests went through the hop: its connection is pooled.
	p := g.proxy(be.URL).pool
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.idle) != 1 {
		t.Errorf("the hop's pool holds %d idle connections after sequential requests, want 1", len(p.idle))
	}
}

// closingBackend answers one request per connection and then closes it,
// without saying so (no Connection: close), as a backend whose idle
// timeout ran out does: a reused connection meets EOF before any answer.
// conns counts its connections.
func closingBackend(t *testing.T) (string, *atomic.Int64) {
	t.Helper()
	var conns atomic.Int64
	url, _ := rawBackend(t, func(_ int64, c net.Conn, _ *http.Request, body []byte) bool {
		conns.Add(1)
		answer(c, "got "+string(body))
		return false
	})
	return url, &conns
}

// TestAConnectionTheBackendClosedIsNotReused: a backend that closes each
// connection after its answer (no Connection: close) answers every request.
func TestAConnectionTheBackendClosedIsNotReused(t *testing.T) {
	url, conns := closingBackend(t)
	_, s := newGateway(t, &fakeCP{table: oneRoute(url)}, time.Second)
	for i := range 10 {
		req, _ := http.NewRequest("POST", s.URL+"/serve/a/d/v2/models/d/infer", strings.NewReader(`{"i":1}`))
		if resp, got := send(t, http.DefaultClient, req); resp.StatusCode != 200 || got != `got {"i":1}` {
			t.Fatalf("request %d: %d %q", i, resp.StatusCode, got)
		}
		time.Sleep(5 * time.Millisecond) // the backend's close arrives first
	}
	if n := conns.Load(); n < 10 {
		t.Errorf("%d connections for 10 requests to a backend that closes each", n)
	}
}

// TestIdleConnectionsTheBackendTimedOutAreNotUsed: after a burst, the
// backend closes its idle connections; the next request still gets through.
func TestIdleConnectionsTheBackendTimedOutAreNotUsed(t *testing.T) {
	var gate sync.WaitGroup
	gate.Add(4)
	be := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/burst" {
			gate.Done()
			gate.Wait()
		}
		_, _ = io.WriteString(w, "ok")
	}))
	be.Config.IdleTimeout = 100 * time.Millisecond
	be.Start()
	t.Cleanup(be.Close)
	g, s := newGateway(t, &fakeCP{table: oneRoute(be.URL)}, time.Second)
	var wg sync.WaitGroup
	for range 4 {
		wg.Go(func() {
			req, _ := http.NewRequest("POST", s.URL+"/serve/a/d/burst", strings.NewReader("{}"))
			send(t, http.DefaultClient, req)
		})
	}
	wg.Wait()
	p := g.proxy(be.URL).pool
	p.mu.Lock()
	idle := len(p.idle)
	p.mu.Unlock()
	if idle != 4 {
		t.Fatalf("%d idle connections after a burst of 4", idle)
	}
	time.Sleep(400 * time.Millisecond)
	req, _ := http.NewRequest("POST", s.URL+"/serve/a/d/x", strings.NewReader("{}"))
	if resp, got := send(t, http.DefaultClient, req); resp.StatusCode != 200 {
		t.Fatalf("after the backend closed its idle connections: %d %q", resp.StatusCode, got)
	}
}

// rawBackend answers with whatever reply(n, request, body) writes for the
// n-th request (from 1) on a keep-alive connection; reply returns false to
// close the connection.
func rawBackend(t *testing.T, reply func(n int64, c net.Conn, r *http.Request, body []byte) bool) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var n atomic.Int64
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				br := bufio.NewReader(c)
				for {
					r, err := http.ReadRequest(br)
					if err != nil {
						return
					}
					body, _ := io.ReadAll(r.Body)
					if !reply(n.Add(1), c, r, body) {
						return
					}
				}
			}()
		}
	}()
	return "http://" + ln.Addr().String(), &n
}

func answer(c net.Conn, body string, extra ...string) {
	_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\n"+strings.Join(extra, "")+"Content-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
}

// TestBytesNoRequestAskedForNeverReachTheNextCaller: a backend that sends a
// second answer after the first (as one that took a request's body for a
// request would) does not get its connection back: each caller gets the
// answer to its own request.
func TestBytesNoRequestAskedForNeverReachTheNextCaller(t *testing.T) {
	url, _ := rawBackend(t, func(_ int64, c net.Conn, r *http.Request, _ []byte) bool {
		answer(c, "answer to "+r.URL.Path)
		if r.URL.Path == "/smuggle" {
			time.Sleep(20 * time.Millisecond) // after the gateway has the first answer
			answer(c, "unsolicited")
		}
		return true
	})
	_, s := newGateway(t, &fakeCP{table: oneRoute(url)}, time.Second)
	for _, path := range []string{"/smuggle", "/b", "/c", "/smuggle", "/d"} {
		req, _ := http.NewRequest("GET", s.URL+"/serve/a/d"+path, nil)
		if _, got := send(t, http.DefaultClient, req); got != "answer to "+path {
			t.Fatalf("GET %s answered %q", path, got)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestOnlyIdempotentRequestsAreSentAgain: a reused connection the backend
// closes after reading a request without answering: a POST fails (the
// backend may have acted on it), a GET is sent once more on a new one.
func TestOnlyIdempotentRequestsAreSentAgain(t *testing.T) {
	url, n := rawBackend(t, func(n int64, c net.Conn, r *http.Request, _ []byte) bool {
		if n == 2 || n == 4 {
			return false // read, then closed without an answer
		}
		answer(c, r.Method+" ok")
		return true
	})
	_, s := newGateway(t, &fakeCP{table: oneRoute(url)}, time.Second)
	do := func(method string) (int, string) {
		req, _ := http.NewRequest(method, s.URL+"/serve/a/d/x", strings.NewReader("{}"))
		resp, got := send(t, http.DefaultClient, req)
		return resp.StatusCode, got
	}
	if code, got := do("POST"); code != 200 {
		t.Fatalf("first POST: %d %q", code, got)
	}
	if code, _ := do("POST"); code != http.StatusBadGateway || n.Load() != 2 {
		t.Fatalf("a POST the backend read and dropped: %d after %d requests, want 502 after 2 (not sent again)", code, n.Load())
	}
	if code, got := do("GET"); code != 200 {
		t.Fatalf("GET: %d %q", code, got)
	}
	if code, got := do("GET"); code != 200 || got != "GET ok" || n.Load() != 5 {
		t.Fatalf("a GET the backend read and dropped: %d %q after %d requests, want 200 after 5 (sent again)", code, got, n.Load())
	}
}

// TestAnswerHeadersAreBoundedAndTheRevisionIsTheGatewaysToName: over 1 MiB
// of headers is a 502, not a gateway holding them; a backend's own
// X-Ferry-Revision does not replace the gateway's.
func TestAnswerHeadersAreBoundedAndTheRevisionIsTheGatewaysToName(t *testing.T) {
	url, _ := rawBackend(t, func(_ int64, c net.Conn, r *http.Request, _ []byte) bool {
		if r.URL.Path == "/huge" {
			_, _ = io.WriteString(c, "HTTP/1.1 200 OK\r\nX: "+strings.Repeat("a", 2<<20)+"\r\nContent-Length: 0\r\n\r\n")
			return false
		}
		if r.URL.Path == "/early" {
			for range 10 {
				_, _ = io.WriteString(c, "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n")
			}
		}
		answer(c, "ok", HeaderRevision+": forged\r\n")
		return true
	})
	_, s := newGateway(t, &fakeCP{table: oneRoute(url)}, time.Second)
	req, _ := http.NewRequest("GET", s.URL+"/serve/a/d/huge", nil)
	if resp, got := send(t, http.DefaultClient, req); resp.StatusCode != http.StatusBadGateway || !strings.Contains(got, "1 MiB") {
		t.Errorf("2 MiB of answer headers: %d %q, want 502 naming the limit", resp.StatusCode, got)
	}
	req, _ = http.NewRequest("GET", s.URL+"/serve/a/d/early", nil)
	if resp, _ := send(t, http.DefaultClient, req); resp.StatusCode != http.StatusBadGateway {
		t.Errorf("10 informational answers: %d, want 502", resp.StatusCode)
	}
	req, _ = http.NewRequest("GET", s.URL+"/serve/a/d/x", nil)
	if resp, got := send(t, http.DefaultClient, req); got != "ok" || resp.Header.Values(HeaderRevision)[0] != "d-r1" || len(resp.Header.Values(HeaderRevision)) != 1 {
		t.Errorf("revision header %q (answer %q), want only d-r1", resp.Header.Values(HeaderRevision), got)
	}
}

// TestTheHopStreamsAnAnswerOfUnknownLengthAndLetsGoWhenTheCallerDoes: a
// chunked answer's first part reaches the caller before the backend writes
// the rest; a caller that gives up frees the backend's request; a backend
// that leaves the table has its idle connections closed.
func TestTheHopStreamsAnAnswerOfUnknownLengthAndLetsGoWhenTheCallerDoes(t *testing.T) {
	more, gone := make(chan struct{}), make(chan struct{}, 1)
	var closed atomic.Int64
	be := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/stream":
			_, _ = io.WriteString(w, "first ")
			w.(http.Flusher).Flush()
			<-more
			_, _ = io.WriteString(w, "second")
		case "/slow":
			<-r.Context().Done()
			gone <- struct{}{}
		default:
			_, _ = io.WriteString(w, "ok")
		}
	}))
	be.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateClosed {
			closed.Add(1)
		}
	}
	be.Start()
	t.Cleanup(be.Close)
	g, s := newGateway(t, &fakeCP{table: oneRoute(be.URL)}, time.Second)

	req, _ := http.NewRequest("GET", s.URL+"/serve/a/d/stream", nil)
	req.Header.Set(v1.HeaderAPIKey, key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	first := make([]byte, len("first "))
	if _, err := io.ReadFull(resp.Body, first); err != nil || string(first) != "first " {
		t.Fatalf("first part: %q %v", first, err)
	}
	close(more)
	rest, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(rest) != "second" {
		t.Fatalf("rest: %q", rest)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
	defer cancel()
	req, _ = http.NewRequestWithContext(ctx, "GET", s.URL+"/serve/a/d/slow", nil)
	req.Header.Set(v1.HeaderAPIKey, key)
	if resp, err := http.DefaultClient.Do(req); err == nil {
		resp.Body.Close()
		t.Fatal("the slow request answered")
	}
	select {
	case <-gone:
	case <-time.After(5 * time.Second):
		t.Fatal("the backend's request outlived the caller's")
	}

	req, _ = http.NewRequest("GET", s.URL+"/serve/a/d/x", nil)
	if resp, got := send(t, http.DefaultClient, req); resp.StatusCode != 200 || got != "ok" {
		t.Fatalf("after: %d %q", resp.StatusCode, got)
	}
	before := closed.Load()
	g.SetTable(v1.RoutingTable{})
	deadline := time.Now().Add(5 * time.Second)
	for closed.Load() == before {
		if time.Now().After(deadline) {
			t.Fatal("the idle connection to a backend that left the table is kept open")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestTheHopWritesHeadersAsHeaderWriteDoes: what writeHeader writes parses
// back to what Header.Write's output does: every value of every valid
// name, a CR or LF inside a value turned into a space (no header can be
// smuggled in), names that are not tokens left out.
func TestTheHopWritesHeadersAsHeaderWriteDoes(t *testing.T) {
	h := http.Header{
		"X-Many":       {"1", " 2 ", "3"},
		"X-Smuggle":    {"a\r\nX-Injected: yes"},
		"X-Lf":         {"b\nc"},
		"Bad Name":     {"dropped"},
		"Content-Type": {"application/json"},
	}
	parse := func(raw string) http.Header {
		m, err := textproto.NewReader(bufio.NewReader(strings.NewReader(raw + "\r\n"))).ReadMIMEHeader()
		if err != nil {
			t.Fatalf("parsing %q: %v", raw, err)
		}
		return http.Header(m)
	}
	var ours strings.Builder
	bw := bufio.NewWriter(&ours)
	writeHeader(bw, h)
	_ = bw.Flush()
	var std strings.Builder
	_ = h.Write(&std)
	got, want := parse(ours.String()), parse(std.String())
	if !reflect.DeepEqual(got, want) {
		t.Errorf("writeHeader wrote %q, parsed %v; Header.Write's parses to %v", ours.String(), got, want)
	}
	if got.Get("X-Injected") != "" || got.Get("Bad Name") != "" || len(got["X-Many"]) != 3 || got.Get("X-Lf") != "b c" {
		t.Errorf("writeHeader's output parses to %v", got)
	}
}
