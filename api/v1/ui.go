package v1

import "time"

// The dashboard's login hand-over: `ferry ui` trades the caller's API token
// for a one-time code (a minute, single use); the dashboard at UILoginPath
// redeems it for a short-lived session cookie (HttpOnly, SameSite=Strict).
// The browser's API calls carry the cookie and the UICSRFHeader, which a
// cross-site form cannot send and a cross-site script may not (no CORS).
const (
	// PathUISession trades the caller's token for a dashboard login code.
	PathUISession = Prefix + "/ui/session"
	// UILoginPath redeems a login code (GET ?code=...) and sets the cookie.
	UILoginPath = "/ui/login"
	// UILogoutPath (POST, with UICSRFHeader) ends the session.
	UILogoutPath = "/ui/logout"
	// UILoginParam is the query parameter that carries the code.
	UILoginParam = "code"
	// UIHandoverPrefix starts every dashboard login code; it is not a token.
	UIHandoverPrefix = "fuh_"
	// UISessionCookie holds the session's API token (a child of the token
	// the code was traded for, expiring with the session).
	UISessionCookie = "ferry_ui"
	// UICSRFHeader must accompany the cookie, with the value "1": without it
	// the cookie is ignored and the request is unauthenticated.
	UICSRFHeader = "X-Ferry-UI"
)

// UIHandover is a one-time dashboard login code; the URL carries only the
// code, never the API token.
type UIHandover struct {
	Code      string    `json:"code" doc:"one-time login code (fuh_...)"`
	ExpiresAt time.Time `json:"expiresAt" doc:"the code is refused after this time"`
	URL       string    `json:"url" doc:"path to open in a browser, relative to the server"`
}
