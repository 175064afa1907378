package dbtest

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/modules/postgres"
)

// startContainer runs PostgreSQL with testcontainers-go and returns its admin URL
// (reached through the published port on the host) and a function that removes
// the container. The harness removes it itself, so no reaper (Ryuk) is needed.
func startContainer(ctx context.Context) (dsn string, stop func(), err error) {
	stop = func() {}
	defer func() {
		// testcontainers-go panics on some hosts without a Docker engine
		if r := recover(); r != nil {
			err = fmt.Errorf("%w: %v", errNoEngine, r)
		}
	}()
	image := cmp.Or(os.Getenv("CALLSVC_TEST_PG_IMAGE"), "postgres:15")
	ctr, err := postgres.Run(ctx, image,
		postgres.WithDatabase("postgres"),
		postgres.WithUsername("postgres"),
		postgres.WithPassword("postgres"),
		postgres.BasicWaitStrategies(),
		testcontainers.WithLabels(map[string]string{"callsvc.test": "true"}),
	)
	remove := func() {
		if ctr == nil {
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := testcontainers.TerminateContainer(ctr, testcontainers.StopContext(ctx)); err != nil {
			fmt.Fprintln(os.Stderr, "dbtest: remove container:", err)
		}
	}
	if err != nil {
		remove()
		return "", stop, fmt.Errorf("start container %s: %w", image, err)
	}
	dsn, err = ctr.ConnectionString(ctx, "sslmode=disable")
	if err != nil {
		remove()
		return "", stop, fmt.Errorf("container connection string: %w", err)
	}
	endpoint, _ := ctr.Endpoint(ctx, "")
	fmt.Fprintf(os.Stderr, "dbtest: PostgreSQL container %s (%s) at %s\n", ctr.GetContainerID()[:12], image, endpoint)
	return dsn, remove, nil
}
