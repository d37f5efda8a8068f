/* er_admin.h — the native CLI's admin commands: publish a bundle to the edge
 * Worker, drive its rollout and configure its recommendation units through the
 * Worker's admin API over HTTP(S) (libcurl).  Native only: the WASI CLI is built with ER_CLI_NO_IMPORT and
 * neither compiles nor links this module.
 *
 *   edgerec publish BUNDLE.erb --url URL [--token TOKEN] [--canary PERCENT [--segment JSON]]
 *   edgerec rollout start VERSION --canary PERCENT [--segment JSON] --url URL [--token TOKEN]
 *   edgerec rollout scope JSON|none --url URL [--token TOKEN]
 *   edgerec pause [--reason TEXT] | resume --url URL [--token TOKEN]
 *   edgerec rollout status|promote|rollback --url URL [--token TOKEN]
 *   edgerec rollout events --url URL [--token TOKEN] [--since TS] [--out FILE] [--max-pages N]
 *   edgerec rollout bundle --url URL [--token TOKEN] [--version V | active] --out FILE
 *   edgerec units list|get ID|put FILE.json|delete ID --url URL [--token TOKEN]
 *
 * The token comes from the environment variable EDGEREC_ADMIN_TOKEN (preferred)
 * or --token, which wins when both are set; a token on the command line is
 * visible to other local users in `ps` and in shell history.  The token is
 * never printed.  The admin API the commands speak (paths, bodies, statuses)
 * is the Worker's; every request carries `Authorization: Bearer TOKEN`.
 *
 *   publish   validates the bundle locally (er_engine_new: a bundle the engine
 *             refuses is never sent, exit 4), reads its version from the header
 *             (bytes 40..63), PUTs it to /edge/admin/bundles/VERSION and prints
 *             the server's JSON; with --canary it then POSTs /edge/admin/rollout
 *             {"canary":VERSION,"percent":N} and prints
 *             {"published":<PUT response>,"rollout":<manifest>}.
 *   start     POST /edge/admin/rollout {"canary":VERSION,"percent":N[,"segment":{…}]}
 *             (a stored bundle; --segment is checked to be one JSON object here, its keys
 *             and values by the Worker, core/segments.js) → the manifest.
 *   scope     PUT /edge/admin/scope {"scope":{…}|null} → the manifest.
 *   pause, resume   POST /edge/admin/pause ({"reason":TEXT} with --reason) | resume: the
 *             kill switch → the manifest (the summary line says PAUSED).
 *   status    GET /edge/admin/status → the JSON on stdout, a one-line summary
 *             on stderr.
 *   promote, rollback   POST /edge/admin/promote | rollback → the manifest.
 *   events    GET /edge/admin/events?since=TS[&cursor=C], following the
 *             x-edgerec-next-cursor header through every page into one NDJSON
 *             stream (stdout, or --out FILE written atomically: a temporary
 *             file in the same directory, renamed on success); progress on
 *             stderr.  A repeated cursor or more than --max-pages pages
 *             (default 100000) is an error (exit 3) and writes nothing.
 *   bundle    GET /edge/admin/bundles/V (V from --version, default the active
 *             version from /edge/admin/status), validates it like publish and
 *             writes it atomically to --out.
 *   units     recommendation units (docs/units.md): list → GET /edge/admin/units
 *             (the JSON on stdout, a line a unit on stderr); get ID → GET
 *             /edge/admin/units/ID; put FILE.json (or - for stdin; one unit, at most
 *             64 KiB) → PUT /edge/admin/units/<its unitId>, or POST /edge/admin/units
 *             when it has none (the Worker gives it an id); delete ID → DELETE
 *             /edge/admin/units/ID.  The Worker's refusals (400 naming the field,
 *             404, 409 over a limit or on a concurrent change) are relayed, exit 3.
 *
 * Transport: --url must be http:// or https:// (no query or fragment); TLS
 * peers are always verified; no redirect is followed (a 3xx is reported with
 * its Location); connect timeout 10 s, total 120 s per request (the
 * environment variable EDGEREC_ADMIN_TIMEOUT=SECONDS overrides the total);
 * the usual *_proxy environment variables apply (libcurl's defaults).
 *
 * Output: the server's JSON, indented, on stdout.  Errors on stderr name the
 * request (method and URL) and what failed: the HTTP status and the server's
 * {"error"} message, or connection refused / DNS / timeout / TLS.
 * Exit codes: 0 ok, 2 usage, 3 bad input, HTTP or transport error, 4 bad
 * bundle (local or downloaded). */
#ifndef ER_ADMIN_H
#define ER_ADMIN_H

/* argv[0] is "publish", "rollout" or "units"; returns the process exit code. */
int er_admin_main(int argc, char **argv);

#endif
