package gateway

import (
	"fmt"
	"math"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"sync"
	"time"
)

// Defaults of the per-client bound on credential lookups.
const (
	defaultLookupRate    = 10
	defaultLookupBurst   = 20
	defaultLookupClients = 10000
	// lookupSweep is how often idle buckets are dropped even below the
	// table's size, so a flood's addresses do not linger once it is over.
	lookupSweep = time.Minute
)

// validateLookups fills the lookup limit's defaults and refuses bad values,
// naming the field.
func (c *Config) validateLookups() error {
	switch {
	case math.IsNaN(c.LookupRate) || math.IsInf(c.LookupRate, 0) || c.LookupRate < 0:
		return fmt.Errorf("gateway: LookupRate %v: want a finite number of lookups per second ≥ 0 (0: the default, %d)", c.LookupRate, defaultLookupRate)
	case c.LookupBurst < 0:
		return fmt.Errorf("gateway: LookupBurst %d: want ≥ 0 (0: the default, %d)", c.LookupBurst, defaultLookupBurst)
	case c.LookupClients < 0:
		return fmt.Errorf("gateway: LookupClients %d: want ≥ 0 (0: the default, %d)", c.LookupClients, defaultLookupClients)
	}
	if c.LookupRate == 0 {
		c.LookupRate = defaultLookupRate
	}
	if c.LookupBurst == 0 {
		c.LookupBurst = defaultLookupBurst
	}
	if c.LookupClients == 0 {
		c.LookupClients = defaultLookupClients
	}
	return nil
}

// errLimited is a credential lookup refused because its client has spent
// its bucket; retry is when the next one would be allowed.
type errLimited struct{ retry time.Duration }

func (e *errLimited) Error() string {
	return fmt.Sprintf("too many credential lookups; retry in %s", e.retry)
}

// limitedProblem answers a refused lookup: 429 with Retry-After in whole
// seconds, at least 1.
func limitedProblem(w http.ResponseWriter, e *errLimited) {
	w.Header().Set("Retry-After", strconv.Itoa(max(1, int(math.Ceil(e.retry.Seconds())))))
	problem(w, http.StatusTooManyRequests, "too many requests with credentials the gateway has not seen; retry later")
}

// clientKey is who a request's lookups are charged to: the connection's
// remote address (X-Forwarded-For is not trusted: the gateway has no notion
// of a trusted proxy). IPv6 clients are charged by /64, the block one host
// is usually given, so a host cannot spread a flood over its own addresses.
func clientKey(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	a, err := netip.ParseAddr(host)
	if err != nil {
		return host
	}
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// lookupLimiter is a token bucket per client for the lookups that miss the
// token cache. Its table is bounded: at size it drops idle buckets (those
// refilled to full, which are the same as a fresh one) and, if that frees
// less than a tenth, others at random (Go's map order), so a flood from many
// addresses cannot grow it; a dropped client starts again with a full bucket.
type lookupLimiter struct {
	rate  float64 // tokens per second
	burst float64
	size  int
	now   func() time.Time

	mu    sync.Mutex
	m     map[string]*bucket
	swept time.Time
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLookupLimiter(rate float64, burst, size int) *lookupLimiter {
	return &lookupLimiter{rate: rate, burst: float64(burst), size: size, now: time.Now, m: map[string]*bucket{}}
}

// take spends one lookup for client; when its bucket is empty it spends
// nothing and says how long until the next lookup is allowed.
func (l *lookupLimiter) take(client string) (ok bool, retry time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if now.Sub(l.swept) >= lookupSweep {
		l.dropIdle(now)
	}
	b := l.m[client]
	if b == nil {
		if len(l.m) >= l.size {
			l.dropIdle(now)
			for k := range l.m {
				if len(l.m) < l.size-l.size/10 {
					break
				}
				delete(l.m, k)
			}
		}
		b = &bucket{tokens: l.burst, last: now}
		l.m[client] = b
	}
	if d := now.Sub(b.last); d > 0 {
		b.tokens = min(l.burst, b.tokens+d.Seconds()*l.rate)
		b.last = now
	}
	if b.tokens >= 1 {
		b.tokens--
		return true, 0
	}
	return false, time.Duration((1 - b.tokens) / l.rate * float64(time.Second))
}

// dropIdle removes the buckets that would be full by now.
func (l *lookupLimiter) dropIdle(now time.Time) {
	l.swept = now
	for k, b := range l.m {
		if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
			delete(l.m, k)
		}
	}
}

func (l *lookupLimiter) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}
