package motoserver

import (
	"net/http"
	"testing"
)

func TestStart(t *testing.T) {
	url := Start(t)
	resp, err := http.Get(url + "/moto-api/")
	if err != nil {
		t.Fatalf("calling moto: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("moto answered %s, want 200 OK", resp.Status)
	}
}
