package api

import (
	_ "embed"
	"net/http"
)

// openAPIDoc is the OpenAPI 3.1 description of /api/v1, kept in the repository next to the
// code it describes; openapi_test.go holds it to the router, the decoders and the wire types.
//
//go:embed openapi.json
var openAPIDoc []byte

// openAPI is GET /openapi.json: the document as kept in the repository. Like every read it
// needs only the function key, which the host checks before plsgate runs — as ?code= or the
// x-functions-key header (azure-docs articles/azure-functions/function-keys-how-to.md, "Use
// access keys"); the document's securitySchemes say so.
func (a *API) openAPI(w http.ResponseWriter, r *http.Request) {
	if err := queryParams(r.URL.Query()); err != nil {
		a.writeError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(openAPIDoc)
}
