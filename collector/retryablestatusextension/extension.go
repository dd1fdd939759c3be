// Package retryablestatusextension is an HTTP client middleware that makes chosen answer
// statuses retryable. The OTLP/HTTP exporter retries only 429, 502, 503 and 504
// (isRetryableStatusCode in exporter/otlphttpexporter/otlp.go) and drops a batch on any
// other status; OpenObserve answers 500 for write failures that pass (a full disk, its
// storage or WAL briefly unavailable), so a 500 would lose the batch. The middleware turns
// each listed status into 503 Service Unavailable, keeping the body, so the exporter's
// retry and persistent queue hold the data until the server takes it.
package retryablestatusextension

import (
	"context"
	"fmt"
	"net/http"
	"strconv"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/extension/extensionmiddleware"
)

var componentType = component.MustNewType("retryable_status")

// OriginalStatusHeader carries the status the server answered, for the collector's log.
const OriginalStatusHeader = "X-Original-Status"

// Config is the extension's configuration.
type Config struct {
	// Statuses are answered to the exporter as 503, which it retries.
	Statuses []int `mapstructure:"statuses"`
}

// Validate refuses a status that is not a server error: a 4xx says the request itself is
// wrong (400 a bad body, 401/403 a bad credential, 413 too large), and retrying it would
// block the queue forever.
func (c *Config) Validate() error {
	if len(c.Statuses) == 0 {
		return fmt.Errorf("statuses must list at least one status")
	}
	for _, status := range c.Statuses {
		if status < 500 || status > 599 {
			return fmt.Errorf("statuses: %d is not a server error (500-599)", status)
		}
	}
	return nil
}

// NewFactory creates the factory of the retryable_status extension.
func NewFactory() extension.Factory {
	return extension.NewFactory(
		componentType,
		func() component.Config { return &Config{Statuses: []int{http.StatusInternalServerError}} },
		create,
		component.StabilityLevelBeta,
	)
}

func create(_ context.Context, _ extension.Settings, cfg component.Config) (extension.Extension, error) {
	retryable := map[int]bool{}
	for _, status := range cfg.(*Config).Statuses {
		retryable[status] = true
	}
	return &middleware{retryable: retryable}, nil
}

type middleware struct {
	component.StartFunc
	component.ShutdownFunc
	retryable map[int]bool
}

var _ extensionmiddleware.HTTPClient = (*middleware)(nil)

// GetHTTPRoundTripper wraps the exporter's transport.
func (m *middleware) GetHTTPRoundTripper(context.Context) (extensionmiddleware.WrapHTTPRoundTripperFunc, error) {
	return func(_ context.Context, base http.RoundTripper) (http.RoundTripper, error) {
		return &roundTripper{base: base, retryable: m.retryable}, nil
	}, nil
}

type roundTripper struct {
	base      http.RoundTripper
	retryable map[int]bool
}

func (rt *roundTripper) RoundTrip(request *http.Request) (*http.Response, error) {
	response, err := rt.base.RoundTrip(request)
	if err != nil || !rt.retryable[response.StatusCode] {
		return response, err
	}
	response.Header.Set(OriginalStatusHeader, strconv.Itoa(response.StatusCode))
	response.StatusCode = http.StatusServiceUnavailable
	response.Status = fmt.Sprintf("%d %s (the server answered %s)", http.StatusServiceUnavailable,
		http.StatusText(http.StatusServiceUnavailable), response.Header.Get(OriginalStatusHeader))
	return response, nil
}
