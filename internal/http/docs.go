package httpapi

import _ "embed"

// The documentation page and the Redoc bundle it loads, vendored from npm (see
// docs/README.md) and embedded so /docs works with no internet access.
var (
	//go:embed docs/index.html
	docsHTML []byte
	//go:embed docs/redoc.standalone.js
	docsScript []byte
)
