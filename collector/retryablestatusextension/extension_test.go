package retryablestatusextension

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"

	"go.opentelemetry.io/collector/extension/extensiontest"
)

func answering(status int) *httptest.Server {
	return httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.WriteHeader(status)
		_, _ = w.Write([]byte("write failed"))
	}))
}

func roundTrip(t *testing.T, cfg *Config, status int) *http.Response {
	t.Helper()
	server := answering(status)
	t.Cleanup(server.Close)
	ext, err := create(context.Background(), extensiontest.NewNopSettings(componentType), cfg)
	if err != nil {
		t.Fatal(err)
	}
	wrap, err := ext.(*middleware).GetHTTPRoundTripper(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	transport, err := wrap(context.Background(), http.DefaultTransport)
	if err != nil {
		t.Fatal(err)
	}
	response, err := (&http.Client{Transport: transport}).Get(server.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = response.Body.Close() })
	return response
}

func TestAListedStatusIsAnsweredAs503WithItsBody(t *testing.T) {
	response := roundTrip(t, &Config{Statuses: []int{500}}, 500)
	body, _ := io.ReadAll(response.Body)
	if response.StatusCode != 503 || string(body) != "write failed" {
		t.Fatalf("got %d %q", response.StatusCode, body)
	}
	if response.Header.Get(OriginalStatusHeader) != "500" {
		t.Fatalf("original status header: %q", response.Header.Get(OriginalStatusHeader))
	}
}

func TestOtherStatusesPassUnchanged(t *testing.T) {
	for _, status := range []int{200, 400, 401, 403, 413, 501} {
		if got := roundTrip(t, &Config{Statuses: []int{500}}, status).StatusCode; got != status {
			t.Fatalf("status %d became %d", status, got)
		}
	}
}

func TestOnlyServerErrorsMayBeListed(t *testing.T) {
	for _, statuses := range [][]int{{}, {400}, {413, 500}, {600}} {
		if (&Config{Statuses: statuses}).Validate() == nil {
			t.Fatalf("%v accepted", statuses)
		}
	}
	if err := (&Config{Statuses: []int{500, 507}}).Validate(); err != nil {
		t.Fatal(err)
	}
}
