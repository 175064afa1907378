package httpapi

import (
	"bytes"
	"compress/gzip"
	"context"
	_ "embed"
	"io"
	"strconv"
	"strings"
	"sync"

	"github.com/labstack/echo/v4"
)

// The documentation page and the Redoc bundle it loads, vendored from npm (see
// docs/README.md) and embedded so /docs works with no internet access. The
// bundle is kept gzipped (a third of its size, which keeps the container image
// small) and sent so to every client that takes gzip.
var (
	//go:embed docs/index.html
	docsHTML []byte
	//go:embed docs/redoc.standalone.js.gz
	docsScriptGzip []byte
	// docsScript is the bundle unzipped, made once, for a client that does not
	// take gzip.
	docsScript = sync.OnceValue(func() []byte {
		zr, err := gzip.NewReader(bytes.NewReader(docsScriptGzip))
		if err != nil {
			panic("embedded redoc bundle: " + err.Error())
		}
		b, err := io.ReadAll(zr)
		if err != nil {
			panic("embedded redoc bundle: " + err.Error())
		}
		return b
	})
)

type takesGzipKey struct{}

// negotiateGzip tells GetDocsScript, in the request's context, whether the
// client takes gzip: it does when it sends no Accept-Encoding (RFC 9110: any
// coding is acceptable), or lists gzip or * without q=0.
func negotiateGzip(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		r := c.Request()
		c.Response().Header().Add(echo.HeaderVary, echo.HeaderAcceptEncoding)
		c.SetRequest(r.WithContext(context.WithValue(r.Context(), takesGzipKey{}, takesGzip(r.Header.Values(echo.HeaderAcceptEncoding)))))
		return next(c)
	}
}

func takesGzip(acceptEncoding []string) bool {
	if len(acceptEncoding) == 0 {
		return true
	}
	for _, list := range acceptEncoding {
		for _, item := range strings.Split(list, ",") {
			coding, params, _ := strings.Cut(strings.TrimSpace(item), ";")
			coding = strings.ToLower(strings.TrimSpace(coding))
			if coding != "gzip" && coding != "*" {
				continue
			}
			if q, ok := strings.CutPrefix(strings.ReplaceAll(params, " ", ""), "q="); ok {
				if v, err := strconv.ParseFloat(q, 64); err == nil && v == 0 {
					continue
				}
			}
			return true
		}
	}
	return false
}
