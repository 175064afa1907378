package httpapi

import (
	"fmt"
	"strings"
	"sync"

	"github.com/getkin/kin-openapi/openapi3"

	"github.com/callsvc/callsvc/internal/apimodel"
)

// GetSpec returns the spec the server is generated from (embedded in
// internal/apimodel, as api/openapi.yaml has it).
func GetSpec() (*openapi3.T, error) { return apimodel.GetSpec() }

// operation is what the middleware needs to know about a route the spec declares.
type operation struct {
	ID       string
	Method   string
	Path     string // Echo's form: /v1/calls/:callId
	HasBody  bool   // the operation takes a JSON request body
	NeedAuth bool   // under /v1
}

// routeKey indexes operations by method and Echo route template.
func routeKey(method, echoPath string) string { return method + " " + echoPath }

var defineFormats sync.Once

// loadSpec returns the embedded spec, ready for request validation: servers are
// cleared, because kin-openapi's router would otherwise match the Host header
// against them and answer "no matching operation" (oapi-codegen#882).
func loadSpec() (*openapi3.T, error) {
	defineFormats.Do(func() {
		// kin-openapi checks no format unless told to; ids must be real UUIDs.
		openapi3.DefineStringFormatValidator("uuid", openapi3.NewRegexpFormatValidator(openapi3.FormatOfStringForUUIDOfRFC9562))
	})
	spec, err := GetSpec()
	if err != nil {
		return nil, fmt.Errorf("load embedded openapi spec: %w", err)
	}
	spec.Servers = nil
	return spec, nil
}

// operations lists every operation in spec, keyed by routeKey.
func operations(spec *openapi3.T) map[string]operation {
	ops := make(map[string]operation)
	for path, item := range spec.Paths.Map() {
		echoPath := toEchoPath(path)
		for method, op := range item.Operations() {
			ops[routeKey(method, echoPath)] = operation{
				ID:       op.OperationID,
				Method:   method,
				Path:     echoPath,
				HasBody:  op.RequestBody != nil,
				NeedAuth: strings.HasPrefix(path, "/v1/"),
			}
		}
	}
	return ops
}

// toEchoPath turns /v1/calls/{callId} into /v1/calls/:callId.
func toEchoPath(path string) string {
	parts := strings.Split(path, "/")
	for i, p := range parts {
		if strings.HasPrefix(p, "{") && strings.HasSuffix(p, "}") {
			parts[i] = ":" + p[1:len(p)-1]
		}
	}
	return strings.Join(parts, "/")
}
