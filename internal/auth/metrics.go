package auth

import (
	"errors"
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

type metrics struct {
	refused *prometheus.CounterVec
	logins  *prometheus.CounterVec
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	m := &metrics{
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigie_auth_refused_total",
			Help: "Requests refused by the access rules, by reason: anonymous (401, no credentials), bad_credentials " +
				"(401, an unknown token or a malformed Authorization header), role (403), csrf (403), no_rule (403, a route without a rule), " +
				"host (403, the open mode asked under a name that is not loopback: DNS rebinding).",
		}, []string{"reason"}),
		logins: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "vigie_auth_logins_total",
			Help: "Browser logins, by how (password, oidc) and outcome (ok, refused).",
		}, []string{"via", "outcome"}),
	}
	if reg == nil {
		return m, nil
	}
	var errs []error
	for _, c := range []prometheus.Collector{m.refused, m.logins} {
		errs = append(errs, reg.Register(c))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, fmt.Errorf("auth metrics: %w", err)
	}
	return m, nil
}
