package cluster

import (
	"bytes"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/user"
	"text/template"
	"time"
)

// pgbouncerIni is PgBouncer's configuration; docs/operations.md explains the
// choices. Transaction pooling: a server connection is lent for one
// transaction, so many replicas' pools share few PostgreSQL connections.
var pgbouncerIni = template.Must(template.New("pgbouncer.ini").Parse(`; Written by callsvc internal/cluster; see docs/operations.md.
[databases]
; Any database name goes to the same name on PostgreSQL.
* = host={{.PGHost}} port={{.PGPort}}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {{.Port}}
; No Unix socket: everything goes over loopback TCP.
unix_socket_dir =
auth_type = {{.AuthType}}
auth_file = {{.AuthFile}}
admin_users = {{.User}}
pool_mode = transaction
; Server connections per database and user: what PostgreSQL sees.
default_pool_size = {{.PoolSize}}
min_pool_size = 0
reserve_pool_size = 0
; Client connections: every replica's whole pool, and then some.
max_client_conn = 1000
; Clients wait this long for a server connection before an error.
query_wait_timeout = 30
server_login_retry = 1
; Reset only matters in session mode; transaction mode never runs it.
server_reset_query = DISCARD ALL
ignore_startup_parameters = extra_float_digits
log_connections = 0
log_disconnections = 0
stats_period = 10
`))

// haproxyCfg is HAProxy's configuration; docs/operations.md explains it.
var haproxyCfg = template.Must(template.New("haproxy.cfg").Parse(`# Written by callsvc internal/cluster; see docs/operations.md.
global
    log stderr format raw local0 notice
    stats socket {{.Socket}} mode 600 level admin
    maxconn 4096
{{- if .User}}
    user {{.User}}
    group {{.User}}
{{- end}}

defaults
    mode http
    log global
    option httplog
    # Log only what went wrong: errors, retries, redispatches.
    option dontlog-normal
    timeout connect 1s
    timeout client 75s
    timeout server 75s
    timeout http-request 10s
    timeout http-keep-alive 75s
    timeout queue 10s
    timeout check 2s
    # A connection refused (a replica stopped or killed) is tried on another.
    retries 3
    option redispatch 1
    # What HAProxy answers itself is the API's 503: a problem document with
    # Retry-After, and X-Request-Id. A request whose replica died in flight
    # (502, 504) is in doubt, so it is answered 503 too: retried with the same
    # Idempotency-Key it is replayed or done once.
    http-error status 502 content-type application/problem+json hdr Retry-After 1 hdr X-Request-Id %[var(txn.request_id)] lf-string "{\"type\":\"about:blank\",\"title\":\"Service Unavailable\",\"status\":503,\"detail\":\"The server handling the request went away; retry.\",\"code\":\"service_unavailable\",\"requestId\":\"%[var(txn.request_id),json(utf8s)]\"}"
    http-error status 503 content-type application/problem+json hdr Retry-After 1 hdr X-Request-Id %[var(txn.request_id)] lf-string "{\"type\":\"about:blank\",\"title\":\"Service Unavailable\",\"status\":503,\"detail\":\"No server can take the request now; retry.\",\"code\":\"service_unavailable\",\"requestId\":\"%[var(txn.request_id),json(utf8s)]\"}"
    http-error status 504 content-type application/problem+json hdr Retry-After 1 hdr X-Request-Id %[var(txn.request_id)] lf-string "{\"type\":\"about:blank\",\"title\":\"Service Unavailable\",\"status\":503,\"detail\":\"The server did not answer in time; retry.\",\"code\":\"service_unavailable\",\"requestId\":\"%[var(txn.request_id),json(utf8s)]\"}"

frontend api
    bind 127.0.0.1:{{.Port}}
    # One request id from the balancer to the replica and back.
    http-request set-header X-Request-Id %[uuid()] unless { req.hdr(x-request-id) -m found }
    http-request set-var(txn.request_id) req.hdr(x-request-id)
    http-after-response set-status 503 if { status 502 } || { status 504 }
    default_backend replicas

backend replicas
    balance roundrobin
    # /readyz answers 503 from SIGTERM on (CALLSVC_SHUTDOWN_DRAIN) and when the
    # database does not answer: the replica is taken out within inter x fall.
    option httpchk
    http-check send meth GET uri /readyz ver HTTP/1.1 hdr Host haproxy
    http-check expect status 200
    default-server check inter 500ms fastinter 250ms downinter 500ms rise 2 fall 2
{{- range .Servers}}
    server {{.Name}} 127.0.0.1:{{.Port}}
{{- end}}
`))

type pgbouncerParams struct {
	PGHost, PGPort     string
	Port               int
	AuthType, AuthFile string
	User               string
	PoolSize           int
}

type haproxyServer struct {
	Name string
	Port int
}

type haproxyParams struct {
	Socket  string
	Port    int
	User    string
	Servers []haproxyServer
}

func render(t *template.Template, data any, path string, mode os.FileMode) error {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return fmt.Errorf("render %s: %w", t.Name(), err)
	}
	return os.WriteFile(path, b.Bytes(), mode)
}

// pgbouncerUserList is PgBouncer's auth_file: the one user, with the password
// PgBouncer also logs in to PostgreSQL with ("" when there is none).
func pgbouncerUserList(u *url.URL) []byte {
	pass, _ := u.User.Password()
	return fmt.Appendf(nil, "%q %q\n", u.User.Username(), pass)
}

// loopbackHost returns the address PostgreSQL's host in u means, refusing
// anything that is not loopback: the cluster never leaves this machine.
func loopbackHost(u *url.URL) (host, port string, err error) {
	host, port = u.Hostname(), u.Port()
	if port == "" {
		port = "5432"
	}
	if host == "localhost" {
		return "127.0.0.1", port, nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return host, port, nil
	}
	return "", "", fmt.Errorf("DATABASE_URL host %q is not loopback: the local cluster only talks to a PostgreSQL on this machine (127.0.0.1)", host)
}

// withHost returns dsn pointed at 127.0.0.1:port, with plain TCP (PgBouncer
// has no TLS here) and without pgx's exec mode (the replicas get it as a setting).
func withHost(u *url.URL, port int) string {
	v := *u
	v.Host = fmt.Sprintf("127.0.0.1:%d", port)
	q := v.Query()
	q.Set("sslmode", "disable")
	q.Del("default_query_exec_mode")
	v.RawQuery = q.Encode()
	return v.String()
}

// serviceUser returns the user to run a daemon as when this program is root
// (PgBouncer refuses to run as root), or "" to stay who we are.
func serviceUser(names ...string) string {
	if os.Geteuid() != 0 {
		return ""
	}
	for _, n := range names {
		if _, err := user.Lookup(n); err == nil {
			return n
		}
	}
	return ""
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// portFree reports whether nothing listens on 127.0.0.1:port.
func portFree(port int) bool {
	c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), 200*time.Millisecond)
	if err != nil {
		return true
	}
	c.Close()
	return false
}
