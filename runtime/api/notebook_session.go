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

// HandoverTTL is how long a notebook hand-over code may wait to be redeemed.
const HandoverTTL = time.Minute

type notebookSessionInput struct {
	Tenant string `path:"tenant"`
	Name   string `path:"name"`
	// The token the code is bound to: revoking it ends the browser session.
	Authorization string `header:"Authorization" hidden:"true"`
}

type notebookSessionOutput struct {
	Body v1.NotebookHandover
}

func (s *Server) notebookSessionRoutes() {
	register(s, huma.Operation{OperationID: "createNotebookSession", Method: http.MethodPost, Path: v1.PathNotebookSession, Tags: []string{"notebooks"},
		Summary:       "Trade the caller's token for a one-time browser hand-over code for one notebook (editor); it expires in a minute",
		DefaultStatus: http.StatusCreated},
		func(ctx context.Context, in *notebookSessionInput) (*notebookSessionOutput, error) {
			secret, _ := auth.BearerToken(http.Header{v1.HeaderAuthorization: {in.Authorization}})
			out := &notebookSessionOutput{}
			err := s.mutate(ctx, in.Tenant, "notebook/"+in.Name, func(tx *store.Tx) error {
				if _, err := s.notebook(ctx, tx, in.Tenant, in.Name, store.RoleEditor); err != nil {
					return err
				}
				code, expires, err := tx.CreateNotebookHandover(ctx, in.Tenant, in.Name, caller(ctx).ID, secret, HandoverTTL)
				if err != nil {
					return err
				}
				out.Body = v1.NotebookHandover{Tenant: in.Tenant, Name: in.Name, Code: code, ExpiresAt: expires,
					URL: v1.NotebookPath(in.Tenant, in.Name) + "tree?" + url.Values{v1.NotebookHandoverParam: {code}}.Encode()}
				return nil
			})
			return out, err
		})
}
