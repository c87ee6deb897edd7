package registryserver

import (
	"net/http"
	"testing"
)

func TestStartRequiresItsCredentials(t *testing.T) {
	r := Start(t, "AWS", "the-password")
	for _, c := range []struct {
		user, pass string
		want       int
	}{
		{"AWS", "the-password", http.StatusOK},
		{"AWS", "another-password", http.StatusUnauthorized},
	} {
		req, _ := http.NewRequest(http.MethodGet, "http://"+r.Host+"/v2/", nil)
		req.SetBasicAuth(c.user, c.pass)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != c.want {
			t.Errorf("GET /v2/ as %s:%s = %d, want %d", c.user, c.pass, resp.StatusCode, c.want)
		}
	}
	if _, err := r.ManifestDigest("app", "missing"); err == nil {
		t.Error("ManifestDigest of a missing tag: want an error")
	}
}
