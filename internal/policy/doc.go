// Package policy decides, for one private endpoint connection on one private link service,
// whether plsgate approves it, rejects it or leaves it Pending.
//
// It owns the policy file format (YAML or JSON, one schema, `version: 1`), its validation
// with precise file:line/field errors, the compiled matchers and CEL conditions, and the
// explainable Decision (with a Trace of every rule tried). It also turns ARM REST JSON
// (a connection, a private link service) into Facts, for the `plsgate policy eval` CLI.
//
// It must stay pure: no network, no Azure SDK, no storage, no logging, nothing of ours
// imported. Facts that need I/O (for example "a configured Web PubSub resource has a
// matching shared private link resource") are computed by the caller and passed in
// Facts.Verified. The only I/O is Load reading the policy file named by PLSGATE_POLICY.
//
// Safety: nothing is approved that no rule approves. The default is leave (stay Pending);
// a CEL error makes the rule not match (never approve on error); a fact the engine does
// not know (an empty tenant, an unparsable private endpoint ID) makes its matcher fail.
//
// # Policy file
//
//	version: 1
//	default: leave                  # leave | reject (approve is not allowed)
//	rules:                          # ordered; the first rule whose matchers all hold wins
//	  - name: webpubsub             # required, unique (case-insensitively)
//	    match:                      # optional; every given matcher must hold
//	      privateLinkService:
//	        ids: ["/subscriptions/*/resourceGroups/contoso/providers/Microsoft.Network/privateLinkServices/*"]
//	        subscriptions: [GUID]   # of the PLS
//	        resourceGroups: [glob]
//	        names: [glob]
//	        locations: [westeurope] # case and spaces ignored ("West Europe" = westeurope)
//	        tags: { plsgate: enabled, team: "*" }   # names case-insensitive, values exact; "*" = exists
//	      requester:                # from properties.privateEndpoint.id
//	        subscriptions: [GUID]
//	        resourceGroups: [glob]
//	        tenants: [GUID]         # only when the caller knows the tenant (Facts.Requester.TenantID)
//	        locations: [westeurope] # properties.privateEndpointLocation
//	      connection:
//	        names: [glob]
//	        requestMessage: "^please approve$"   # RE2 on the description; alias: description
//	        linkIdentifiers: ["536870912"]
//	      requestMessage: "^please approve$"     # same as connection.requestMessage (design §4 shape)
//	      status: [Pending]         # default: any status (the reconciler only acts on Pending)
//	      verifiedBy: webPubSub     # Facts.Verified["webPubSub"] must be true
//	    when: 'connection.description.startsWith("ticket:")'   # optional CEL, must be bool
//	    action: approve             # approve | reject | leave
//	    message: "approved by plsgate rule {rule}"   # {rule} {pls} {connection}
//
// Globs, IDs and statuses compare ASCII case-insensitively. `*` is the only wildcard and matches any run of
// characters within one path segment (never a `/`); a glob on a resource ID has exactly as
// many segments as the ID it matches. `**` is rejected: resource IDs have a fixed shape, so
// one `*` per segment says what is meant, and a cross-segment wildcard on an approve rule is
// too easy to get wrong. `?`, `[`, `]`, `{`, `}` and `\` are rejected, not taken literally,
// because no Azure name contains them and a user writing them meant a wildcard.
//
// Regexes are RE2 (Go regexp) and anchored exactly as written: "please approve" matches
// anywhere in the description, "^please approve$" only the whole of it.
//
// CEL (`when`) sees typed variables, so a misspelt field is a load error:
//
//	pls        {id, name, subscriptionId, resourceGroup, location, alias, tags, visibility, autoApproval, fqdns}
//	connection {id, name, status, description, linkIdentifier, privateEndpointId, privateEndpointLocation}
//	requester  {subscriptionId, resourceGroup, tenantId}
//	now        timestamp (Facts.Now; the current time when Facts.Now is zero)
//
// plus the cel-go strings extension. Reading a missing map key (pls.tags["x"] when there is
// no tag x) is an evaluation error, so the rule does not match; write `"x" in pls.tags && ...`.
// Evaluation is cost-limited.
//
// Identical glob, tag and regex matchers shared by several rules are checked once per
// Evaluate (policies repeat their PLS scope across rules).
//
// Order of checks inside a rule (the first failing one is named in the trace): status,
// verifiedBy, privateLinkService (ids, subscriptions, resourceGroups, names, locations, tags),
// requester (subscriptions, resourceGroups, tenants, locations), connection (names,
// linkIdentifiers, requestMessage), then `when`.
package policy
