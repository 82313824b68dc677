package auth

// Rule says who may use one route.
type Rule struct {
	// Open routes need no identity: probes, the login page, static assets.
	Open bool
	// Roles may use the route; empty with Open false means any identity.
	Roles []Role
	// Audit logs every use with the identity (report downloads, SQL).
	Audit bool
}

var (
	viewers = []Role{Analyst, Union, Engineer}
	ops     = []Role{Engineer, Admin}
	// writers add to post-mortems: annotations, action items, status.
	writers = []Role{Analyst, Engineer}
)

// Policy is every route of the server, as the ServeMux pattern its part
// registers, with its rule. A route missing here is refused to everyone
// (the Guard logs it as a wiring error): a new route is closed until its
// rule is written, and the route × role test lists it.
//
// The JSON API and the page are aggregated views (per region, service and
// minute or hour; incident counts, never a pseudonym or a raw event), so
// unions read them as analysts do. Raw events and pseudonyms are reachable
// only by engineers: through SQL, and in the drill-down's sample of failing
// events, which the dashboard gives the other roles as counts.
func Policy() map[string]Rule {
	return map[string]Rule{
		"GET /healthz":                 {Open: true},
		"GET /readyz":                  {Open: true},
		"GET /static/":                 {Open: true}, // the page's script and style: code, no data
		"GET /login":                   {Open: true},
		"POST /login":                  {Open: true},
		"POST /logout":                 {Open: true},
		"GET /auth/oidc/login":         {Open: true},
		"GET /auth/oidc/callback":      {Open: true},
		"/api/v1/proof":                {Open: true}, // vigie query's challenge: proves the server owns the data dir, reveals nothing
		"GET /api/v1/me":               {},
		"GET /i18n/{lang}":             {Open: true}, // the pages' words: no data
		"GET /status":                  {Open: true}, // the public status page: its data comes from /api/v1/status
		"GET /status/{region}":         {Open: true},
		"GET /{$}":                     {Roles: viewers},
		"GET /api/v1/availability":     {Roles: viewers},
		"GET /api/v1/incidents":        {Roles: viewers},
		"GET /api/v1/range":            {Roles: viewers},
		"GET /api/v1/report":           {Roles: viewers, Audit: true},
		"GET /api/v1/regions":          {Roles: viewers},
		"GET /api/v1/regions/{region}": {Roles: viewers},
		"GET /api/v1/compare":          {Roles: viewers},
		// The drill-down shows raw failing events to engineers only; the
		// others get them counted by outcome, status, kind and académie.
		"GET /api/v1/drilldown": {Roles: viewers},
		// The public status: availability ratios and plain sentences, less
		// than the union role sees, for parents and teachers without login.
		"GET /api/v1/status":          {Open: true},
		"GET /api/v1/status/{region}": {Open: true},
		// What people add to a post-mortem: unions read it, analysts and
		// engineers write it (each write logged with its author).
		"GET /api/v1/annotations":    {Roles: viewers},
		"POST /api/v1/annotations":   {Roles: writers, Audit: true},
		"GET /api/v1/actions":        {Roles: viewers},
		"POST /api/v1/actions":       {Roles: writers, Audit: true},
		"GET /api/v1/report/status":  {Roles: viewers},
		"POST /api/v1/report/status": {Roles: writers, Audit: true},
		"/api/v1/sql":                {Roles: []Role{Engineer}, Audit: true},
		"/v1/events":                 {Roles: []Role{Collector}},
		"GET /api/v1/admin/users":    {Roles: []Role{Admin}},
		"GET /api/v1/admin/config":   {Roles: []Role{Admin}}, // registered by the app: config.Redacted
		// Report e-mails (dashboards/delivery): recipients are personal
		// data, so only admins see and change them; engineers may also
		// send a subscription's report now (vigie report send).
		"GET /api/v1/admin/subscriptions":              {Roles: []Role{Admin}},
		"POST /api/v1/admin/subscriptions":             {Roles: []Role{Admin}, Audit: true},
		"DELETE /api/v1/admin/subscriptions/{name}":    {Roles: []Role{Admin}, Audit: true},
		"POST /api/v1/admin/subscriptions/{name}/send": {Roles: ops, Audit: true},
		"GET /metrics":         {Roles: ops},
		"/debug/pprof/":        {Roles: ops},
		"/debug/pprof/profile": {Roles: ops},
	}
}
