// Package redact keeps secrets that travel in URLs out of errors and logs.
//
// Two secrets reach plsgate inside URL query strings: the shared access signature of a Table
// storage connection string (aztables appends it to every request URL, so a transport error
// reads `Post "https://acct.table.core.windows.net/Tables?sv=…&sig=…": dial tcp …`) and the
// function key (`?code=` on the API's URL). Go's url.Error and an error answer that echoes its
// request both carry the whole URL.
//
// It owns:
//   - String: every URL in a text loses its query string (shown as ?REDACTED), its fragment
//     and any userinfo; secret-bearing parameters (sig=, code=, …) outside a recognised URL
//     are blanked too;
//   - Error: an error whose text is redacted and that still unwraps to the original, so
//     errors.Is / errors.As (status codes, sentinels, net errors) keep working;
//   - Policy: an azcore pipeline policy that redacts at the source — the URL of a transport
//     error and the body of an error answer — for the Table, ARM and Event Grid clients;
//   - NewHandler / Logger: a slog handler that redacts messages and attribute values, the
//     last line of defence for whatever a caller logs.
//
// It must not: change a successful answer, drop an error's type or wrapped chain, or do I/O.
package redact
