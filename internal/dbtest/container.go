package dbtest

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
	"github.com/testcontainers/testcontainers-go/modules/postgres"
	"github.com/testcontainers/testcontainers-go/wait"
)

// Container settings, from the environment:
//
//	CALLSVC_TEST_PG_IMAGE              image to run (default postgres:15; never built here)
//	CALLSVC_TEST_RUN_ID                value of the org.callsvc.run label, so a script can
//	                                   remove what a crashed test binary left behind
//	CALLSVC_TEST_CONTAINER_NETWORK     network mode; defaults to slirp4netns when DOCKER_HOST
//	                                   names a podman.sock (rootful Podman's Docker API
//	                                   ignores containers.conf and would use its 10.88.x
//	                                   bridge), else the engine's default
//	TESTCONTAINERS_HOST_OVERRIDE       defaults to 127.0.0.1 here
//
// Port 5432 is always published on 127.0.0.1 only, and the harness refuses to connect
// to anything but a loopback address: test traffic never leaves the machine. A remote
// Docker engine is therefore not supported; use TEST_DATABASE_URL there.
const defaultImage = "postgres:15"

// startContainer runs PostgreSQL with testcontainers-go and returns its admin URL,
// a function that removes the container, and a line that names both for the log.
// The harness removes the container itself, so no reaper (Ryuk) is needed.
func startContainer(ctx context.Context) (dsn string, stop func(), desc string, err error) {
	stop = func() {}
	image := cmp.Or(os.Getenv("CALLSVC_TEST_PG_IMAGE"), defaultImage)
	netMode := os.Getenv("CALLSVC_TEST_CONTAINER_NETWORK")
	if netMode == "" && strings.Contains(os.Getenv("DOCKER_HOST"), "podman.sock") {
		netMode = "slirp4netns"
	}
	// The host testcontainers-go connects to (its port check, our URL): loopback only.
	if os.Getenv("TESTCONTAINERS_HOST_OVERRIDE") == "" {
		os.Setenv("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")
	}
	if h := os.Getenv("TESTCONTAINERS_HOST_OVERRIDE"); !isLoopback(h) {
		return "", stop, "", fmt.Errorf("refusing TESTCONTAINERS_HOST_OVERRIDE=%s: the tests only talk to 127.0.0.1", h)
	}

	// testcontainers-go logs a lot (and panics on some hosts without an engine): keep
	// it quiet and give one line instead. Its first-connection banner uses the default.
	tclog.SetDefault(tclog.NewNoopLogger())
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("%w (%v)", errNoEngine, r)
		}
	}()
	cli, err := testcontainers.NewDockerClientWithOpts(ctx)
	if err != nil {
		return "", stop, "", errNoEngine
	}
	_ = cli.Close()

	start := time.Now()
	ctr, err := postgres.Run(ctx, image,
		testcontainers.WithLogger(tclog.NewNoopLogger()),
		testcontainers.WithName("callsvc-test-"+randomSuffix()),
		postgres.WithDatabase("callsvc_test"),
		postgres.WithUsername("callsvc"),
		postgres.WithPassword("callsvc"),
		testcontainers.WithLabels(map[string]string{
			"org.callsvc.test": "true",
			"org.callsvc.run":  os.Getenv("CALLSVC_TEST_RUN_ID"),
		}),
		testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
			if netMode != "" {
				hc.NetworkMode = container.NetworkMode(netMode)
			}
			hc.PortBindings = network.PortMap{network.MustParsePort("5432/tcp"): {
				{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: "0"},
			}}
		}),
		testcontainers.WithAdditionalLifecycleHooks(testcontainers.ContainerLifecycleHooks{
			PostCreates: []testcontainers.ContainerHook{func(ctx context.Context, c testcontainers.Container) error {
				if netMode == "" {
					return nil
				}
				insp, err := c.Inspect(ctx)
				if err != nil {
					return err
				}
				if m := string(insp.HostConfig.NetworkMode); m != netMode {
					return fmt.Errorf("container network mode %q, want %q", m, netMode)
				}
				return nil
			}},
		}),
		// postgres.Run has no default wait strategy. The entrypoint's temporary init
		// server logs "ready" once, the real one a second time. SkipInternalCheck: the
		// in-container check execs into it and leaves conmon processes behind on Podman.
		testcontainers.WithWaitStrategy(
			wait.ForLog("database system is ready to accept connections").WithOccurrence(2).WithStartupTimeout(60*time.Second),
			wait.ForListeningPort("5432/tcp").SkipInternalCheck().WithStartupTimeout(60*time.Second),
		),
	)
	// Terminate even a half-started container (created, then a hook or wait failed).
	remove := func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := testcontainers.TerminateContainer(ctr, testcontainers.StopContext(ctx)); err != nil {
			fmt.Fprintln(os.Stderr, "dbtest: remove container:", oneLine(err))
		}
	}
	if err != nil {
		remove()
		return "", stop, "", fmt.Errorf("container %s did not start: %s", image, oneLine(err))
	}
	endpoint, err := ctr.PortEndpoint(ctx, "5432/tcp", "")
	if host, _, _ := net.SplitHostPort(endpoint); err == nil && !isLoopback(host) {
		err = fmt.Errorf("refusing to connect to %s: the tests only talk to 127.0.0.1", endpoint)
	}
	if err == nil {
		dsn, err = ctr.ConnectionString(ctx, "sslmode=disable")
	}
	if err != nil {
		remove()
		return "", stop, "", fmt.Errorf("container %s: %s", image, oneLine(err))
	}
	name, _ := ctr.Name(ctx)
	name = strings.TrimPrefix(name, "/")
	desc = fmt.Sprintf("PostgreSQL container %s (%s, id %.12s, network %s) at %s, ready in %.1fs",
		name, image, ctr.GetContainerID(), cmp.Or(netMode, "default"), endpoint, time.Since(start).Seconds())
	return dsn, func() { remove(); report("removed container " + name) }, desc, nil
}

// isLoopback tells whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	ip, err := netip.ParseAddr(host)
	return host == "localhost" || (err == nil && ip.IsLoopback())
}

// errNoEngine marks a failure to reach any Docker-compatible engine.
var errNoEngine = errors.New("no container engine answers")

// dockerHost names the engine endpoint testcontainers-go tried, for the message.
func dockerHost() string {
	return cmp.Or(os.Getenv("DOCKER_HOST"), "unix:///var/run/docker.sock")
}

func oneLine(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
