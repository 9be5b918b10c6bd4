package api

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/plsgate/plsgate/internal/store"
)

func BenchmarkDecodeApproveRequest(b *testing.B) {
	data := []byte(approveBody("ticket CHG-1: customer onboarding", false))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := parseDecisionRequest(data); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkApprove(b *testing.B) {
	ta := newTestAPI(b, easyAuth(b))
	body := approveBody("ticket CHG-1", false)
	hdr := alice(b)
	b.ReportAllocs()
	for b.Loop() {
		r := httptest.NewRequest(http.MethodPost, "/api/v1/connections/approve", strings.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		for i := 0; i+1 < len(hdr); i += 2 {
			r.Header.Set(hdr[i], hdr[i+1])
		}
		rec := httptest.NewRecorder()
		ta.h.ServeHTTP(rec, r)
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}

// BenchmarkStatusPage renders the page for 200 PLSs × 5 connections and 30 transitions.
func BenchmarkStatusPage(b *testing.B) {
	ta := newTestAPI(b, nil)
	var conns []store.Connection
	var trs []store.Transition
	for p := 0; p < 200; p++ {
		pls := strings.Replace(plsID, "contoso-pls", fmt.Sprintf("pls-%03d", p), 1)
		for c := 0; c < 5; c++ {
			conns = append(conns, store.Connection{PLSID: pls, Name: fmt.Sprintf("pe-%d", c), Status: []string{"Pending", "Approved", "Rejected"}[c%3],
				LastActor: "rule:customers", LastRule: "customers", UpdatedAt: testNow.Add(-time.Duration(c) * time.Minute)})
		}
		if p < 30 {
			trs = append(trs, store.Transition{PLSID: pls, Connection: "pe-0", Subject: "connection", From: "Pending", To: "Approved",
				Action: "approve", Actor: "rule:customers", Rule: "customers", Phase: "done", Reason: "rule customers matched", At: testNow.Add(-time.Duration(p) * time.Minute)})
		}
	}
	ta.store.seed(conns, trs)
	b.ReportAllocs()
	for b.Loop() {
		rec := httptest.NewRecorder()
		ta.h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/status", nil))
		if rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}
