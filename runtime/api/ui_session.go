package api

import (
	"context"
	"net/http"
	"net/url"
	"time"

	"github.com/danielgtaylor/huma/v2"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/runtime/auth"
	"github.com/ferry-ml/ferry/store"
)

// UIHandoverTTL is how long a dashboard login code may wait to be redeemed.
const UIHandoverTTL = time.Minute

type uiSessionInput struct {
	// The token the code is bound to: the session is a child of it.
	Authorization string `header:"Authorization" hidden:"true"`
}

type uiSessionOutput struct {
	Body v1.UIHandover
}

func (s *Server) uiSessionRoutes() {
	register(s, huma.Operation{OperationID: "createUISession", Method: http.MethodPost, Path: v1.PathUISession, Tags: []string{"users"},
		Summary:       "Trade the caller's token for a one-time dashboard login code; it expires in a minute",
		DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *uiSessionInput) (*uiSessionOutput, error) {
			secret, ok := auth.BearerToken(http.Header{v1.HeaderAuthorization: {in.Authorization}})
			if !ok {
				return nil, huma.Error403Forbidden("a dashboard login code is traded for an API token (Authorization: Bearer), not for a dashboard session")
			}
			out := &uiSessionOutput{}
			err := s.mutate(ctx, "", "ui/session", func(tx *store.Tx) error {
				code, expires, err := tx.CreateUIHandover(ctx, caller(ctx).ID, secret, UIHandoverTTL)
				if err != nil {
					return err
				}
				out.Body = v1.UIHandover{Code: code, ExpiresAt: expires,
					URL: v1.UILoginPath + "?" + url.Values{v1.UILoginParam: {code}}.Encode()}
				return nil
			})
			return out, err
		})
}
