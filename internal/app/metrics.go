package app

import (
	"log/slog"
	"net/http"
	"sort"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/poraad/loket/intake"
	"github.com/poraad/loket/workflow"
)

// metrics is what /metrics serves, in its own registry (no globals): a
// counter of handled messages fed by workflow.Service.Observed, and a
// collector that reads the store, the pollers and the clock at scrape time.
type metrics struct {
	reg     *prometheus.Registry
	fetched *prometheus.CounterVec
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		fetched: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "loket_messages_fetched_total",
			Help: "Messages fetched and committed, per mailbox, kind and request type (type empty for auto-replies, bounces and follow-ups).",
		}, []string{"mailbox", "kind", "type"}),
	}
	m.reg.MustRegister(m.fetched, collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// observe implements workflow.Service.Observed. Messages skipped as
// handled before (at or below the cursor) are not counted again.
func (m *metrics) observe(mailbox string, class intake.Classification, res workflow.IngestResult) {
	if res.Skipped {
		return
	}
	m.fetched.WithLabelValues(mailbox, string(class.Kind), string(class.Type)).Inc()
}

// watch registers the scrape-time collector.
func (m *metrics) watch(c *stateCollector) { m.reg.MustRegister(c) }

func (m *metrics) handler(log *slog.Logger) http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
		ErrorHandling: promhttp.ContinueOnError,
	})
}

var (
	descTickets       = prometheus.NewDesc("loket_tickets", "Tickets per state.", []string{"state"}, nil)
	descOutbox        = prometheus.NewDesc("loket_outbox_entries", "Outbox entries per status (queued, sent, failed).", []string{"status"}, nil)
	descOutboxOldest  = prometheus.NewDesc("loket_outbox_oldest_pending_seconds", "Age of the oldest queued outbox entry; 0 when none waits.", nil, nil)
	descIMAPConnected = prometheus.NewDesc("loket_imap_connected", "1 while the mailbox's poller is logged in with its folder selected.", []string{"mailbox"}, nil)
	descIMAPLastPoll  = prometheus.NewDesc("loket_imap_last_success_timestamp_seconds", "Unix time of the mailbox's last complete pass; 0 before the first.", []string{"mailbox"}, nil)
	descIMAPFailures  = prometheus.NewDesc("loket_imap_consecutive_failures", "Failed sessions in a row without a complete pass.", []string{"mailbox"}, nil)
	descTimers        = prometheus.NewDesc("loket_timers_pending", "Timers that have not fired yet.", nil, nil)
	descTimersOverdue = prometheus.NewDesc("loket_timers_overdue", "Timers due but not fired: the timer loop is behind.", nil, nil)
	descScrapeError   = prometheus.NewDesc("loket_store_scrape_errors", "Parts of the store that could not be read for this scrape.", nil, nil)
)

// stateCollector reads the state of a running Loket at scrape time.
type stateCollector struct {
	store   *workflow.Store
	pollers pollerStatus
	now     func() time.Time
}

func (c *stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descTickets, descOutbox, descOutboxOldest, descIMAPConnected,
		descIMAPLastPoll, descIMAPFailures, descTimers, descTimersOverdue, descScrapeError} {
		ch <- d
	}
}

func (c *stateCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.now()
	errs := 0
	byState := map[workflow.State]int{}
	if err := c.store.EachSummary(func(s *workflow.Summary) bool { byState[s.State]++; return true }); err != nil {
		errs++
	}
	for state, n := range byState {
		ch <- prometheus.MustNewConstMetric(descTickets, prometheus.GaugeValue, float64(n), string(state))
	}
	if oc, err := c.store.OutboxCounts(); err != nil {
		errs++
	} else {
		for status, n := range oc.ByStatus {
			ch <- prometheus.MustNewConstMetric(descOutbox, prometheus.GaugeValue, float64(n), string(status))
		}
		age := 0.0
		if !oc.OldestPending.IsZero() {
			age = max(now.Sub(oc.OldestPending).Seconds(), 0)
		}
		ch <- prometheus.MustNewConstMetric(descOutboxOldest, prometheus.GaugeValue, age)
	}
	if pending, overdue, err := c.store.TimerBacklog(now); err != nil {
		errs++
	} else {
		ch <- prometheus.MustNewConstMetric(descTimers, prometheus.GaugeValue, float64(pending))
		ch <- prometheus.MustNewConstMetric(descTimersOverdue, prometheus.GaugeValue, float64(overdue))
	}
	names := make([]string, 0, len(c.pollers))
	for name := range c.pollers {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		s := c.pollers[name]()
		connected, last := 0.0, 0.0
		if s.Connected {
			connected = 1
		}
		if !s.LastPoll.IsZero() {
			last = float64(s.LastPoll.UnixNano()) / 1e9
		}
		ch <- prometheus.MustNewConstMetric(descIMAPConnected, prometheus.GaugeValue, connected, name)
		ch <- prometheus.MustNewConstMetric(descIMAPLastPoll, prometheus.GaugeValue, last, name)
		ch <- prometheus.MustNewConstMetric(descIMAPFailures, prometheus.GaugeValue, float64(s.Failures), name)
	}
	ch <- prometheus.MustNewConstMetric(descScrapeError, prometheus.GaugeValue, float64(errs))
}
