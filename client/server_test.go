package client_test

import (
	"context"
	"log"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/oapi-codegen/nullable"

	"github.com/callsvc/callsvc/client"
	"github.com/callsvc/callsvc/internal/dbtest"
	httpapi "github.com/callsvc/callsvc/internal/http"
	"github.com/callsvc/callsvc/internal/service"
)

func TestMain(m *testing.M) { dbtest.Main(m) }

var server struct {
	once sync.Once
	url  string
	svc  *service.Service
	err  error
}

// exampleServer returns the URL of a real callsvc server (internal/http's
// handler over internal/service) on 127.0.0.1, with a migrated database of its
// own, and the API key of a new organization there. Examples have no
// *testing.T, so the server lives as long as the test binary; dbtest drops its
// database when the tests end.
func exampleServer() (url, apiKey string) {
	ctx := context.Background()
	server.once.Do(func() {
		dsn, err := dbtest.SharedDatabase()
		if err != nil {
			server.err = err
			return
		}
		pool, err := pgxpool.New(ctx, dsn)
		if err != nil {
			server.err = err
			return
		}
		logger := slog.New(slog.DiscardHandler)
		server.svc = service.New(pool, logger)
		handler, err := httpapi.New(httpapi.Config{Service: server.svc, Logger: logger})
		if err != nil {
			server.err = err
			return
		}
		server.url = httptest.NewServer(handler).URL
	})
	if server.err != nil {
		log.Fatalf("example server: %v", server.err)
	}
	var key service.NewAPIKey
	err := server.svc.InTx(ctx, func(tx *service.Tx) (err error) {
		_, key, err = server.svc.CreateOrganization(ctx, tx, "Example")
		return err
	})
	if err != nil {
		log.Fatalf("example server: create organization: %v", err)
	}
	return server.url, key.Secret
}

// inProgressCall creates a prospect with 900 clients (so any outcome is
// allowed) and a call in progress with it.
func inProgressCall(ctx context.Context, c *client.ClientWithResponses) client.Call {
	prospect, err := client.Check(c.CreateProspectWithResponse(ctx, nil, client.ProspectCreate{Name: "Acme Wealth", ClientCount: nullable.NewNullableWithValue(900)}))
	if err != nil {
		log.Fatal(err)
	}
	status := client.CallCreateStatusInProgress
	call, err := client.Check(c.CreateCallWithResponse(ctx, nil, client.CallCreate{ProspectId: prospect.JSON201.Id, Status: &status}))
	if err != nil {
		log.Fatal(err)
	}
	return *call.JSON201
}
