package client_test

import (
	"context"
	"testing"

	v1 "github.com/ferry-ml/ferry/api/v1"
	"github.com/ferry-ml/ferry/client"
)

func TestClientRevokesAnotherUsersTokensAndDisablesUsers(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	e := start(t)
	made, err := e.admin.CreateUser(ctx, v1.UserCreate{Name: "alice"})
	if err != nil {
		t.Fatal(err)
	}
	alice := client.New(e.url, client.WithToken(made.Token))
	extra, err := alice.CreateToken(ctx, v1.TokenCreate{Name: "laptop"})
	if err != nil {
		t.Fatal(err)
	}
	ts, err := e.admin.ListUserTokens(ctx, "alice")
	if err != nil || len(ts.Items) != 2 {
		t.Fatalf("alice's tokens: %+v %v", ts, err)
	}
	if err := e.admin.RevokeUserToken(ctx, "alice", extra.ID); err != nil {
		t.Fatal(err)
	}
	_, err = client.New(e.url, client.WithToken(extra.Secret)).Whoami(ctx)
	problem(t, err, 401, "")
	err = alice.RevokeUserToken(ctx, "alice", "x")
	problem(t, err, 403, "admin")
	if u, err := e.admin.DisableUser(ctx, "alice"); err != nil || !u.Disabled {
		t.Fatalf("disable: %+v %v", u, err)
	}
	_, err = alice.Whoami(ctx)
	problem(t, err, 401, "")
	if u, err := e.admin.EnableUser(ctx, "alice"); err != nil || u.Disabled {
		t.Fatalf("enable: %+v %v", u, err)
	}
	if _, err := alice.Whoami(ctx); err != nil {
		t.Fatal(err)
	}
}
