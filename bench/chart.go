package bench

import (
	"bytes"
	"fmt"
	"html"
	"math"
	"strconv"
	"strings"
)

// Chart geometry, in SVG user units.
const (
	chartW   = 1000
	chartH   = 470
	panelW   = 400
	panelH   = 300
	panelTop = 70
	xPad     = 30 // between a panel's edge and its first and last tenant count
)

// scenarioColors colours the scenarios in their order; more scenarios than
// colours reuse them.
var scenarioColors = []string{"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b"}

// series is one line of a panel: a value per run, 0 where there is none.
type series struct {
	color  string
	dashed bool
	values []float64
}

// renderSVG draws the chart of res: throughput (left) and p99 latency
// (right) per scenario against tenant count, HTTP solid and ceiling dashed,
// on logarithmic value axes so that token sign-ins (argon2id) and plain
// reads fit on one chart. It is plain SVG with generic fonts only.
func renderSVG(res *Results) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n",
		chartW, chartH, chartW, chartH)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#ffffff"/>`+"\n", chartW, chartH)
	title := fmt.Sprintf("tenantctl benchmark, %d CPUs, concurrency %d, %gs per load", res.Machine.CPUs, res.Settings.Concurrency, res.Settings.DurationS)
	if !res.StartedAt.IsZero() {
		title += ", " + res.StartedAt.Format("2006-01-02")
	}
	text(&b, chartW/2, 24, "middle", 15, "bold", title)
	text(&b, chartW/2, 44, "middle", 11, "", res.Command)

	var tenants []int
	for _, run := range res.Runs {
		tenants = append(tenants, run.Tenants)
	}
	var names []string
	if len(res.Runs) > 0 {
		for _, s := range res.Runs[0].Scenarios {
			names = append(names, s.label())
		}
	}
	var rps, p99 []series
	for i := range names {
		color := scenarioColors[i%len(scenarioColors)]
		h, c := series{color: color}, series{color: color, dashed: true}
		hl, cl := series{color: color}, series{color: color, dashed: true}
		for _, run := range res.Runs {
			s, _ := run.scenario(res.Runs[0].Scenarios[i].Name, res.Runs[0].Scenarios[i].Distribution)
			h.values, c.values = append(h.values, s.HTTP.RPS), append(c.values, s.Ceiling.RPS)
			hl.values, cl.values = append(hl.values, s.HTTP.P99Ms), append(cl.values, s.Ceiling.P99Ms)
		}
		rps, p99 = append(rps, h, c), append(p99, hl, cl)
	}
	panel(&b, 80, "Throughput (requests/s, log scale)", tenants, rps)
	panel(&b, 80+panelW+110, "p99 latency (ms, log scale)", tenants, p99)
	legend(&b, names)
	b.WriteString("</svg>\n")
	return b.Bytes()
}

// panel draws one chart panel with its left edge at x.
func panel(b *bytes.Buffer, x float64, title string, tenants []int, lines []series) {
	top, bottom, right := float64(panelTop), float64(panelTop+panelH), x+panelW
	text(b, x+panelW/2, top-10, "middle", 13, "bold", title)
	fmt.Fprintf(b, `<rect x="%.1f" y="%.1f" width="%d" height="%d" fill="none" stroke="#444444"/>`+"\n", x, top, panelW, panelH)

	lo, hi, ok := logRange(lines)
	if !ok {
		text(b, x+panelW/2, top+panelH/2, "middle", 12, "", "no data")
		return
	}
	y := func(v float64) float64 {
		return bottom - (math.Log10(v)-math.Log10(lo))/(math.Log10(hi)-math.Log10(lo))*panelH
	}
	for d := lo; d <= hi*1.001; d *= 10 {
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#cccccc"/>`+"\n", x, y(d), right, y(d))
		text(b, x-6, y(d)+4, "end", 11, "", axisLabel(d))
		for _, m := range []float64{2, 5} {
			if d*m < hi {
				fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#eeeeee"/>`+"\n", x, y(d*m), right, y(d*m))
			}
		}
	}
	xs := make([]float64, len(tenants))
	for i, n := range tenants {
		xs[i] = x + panelW/2
		if len(tenants) > 1 {
			xs[i] = x + xPad + float64(i)*(panelW-2*xPad)/float64(len(tenants)-1)
		}
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#444444"/>`+"\n", xs[i], bottom, xs[i], bottom+5)
		text(b, xs[i], bottom+18, "middle", 11, "", strconv.Itoa(n))
	}
	text(b, x+panelW/2, bottom+36, "middle", 12, "", "tenants")

	for _, s := range lines {
		var pts []string
		for i, v := range s.values {
			if v > 0 {
				pts = append(pts, fmt.Sprintf("%.1f,%.1f", xs[i], y(v)))
			}
		}
		if len(pts) == 0 {
			continue
		}
		dash := ""
		if s.dashed {
			dash = ` stroke-dasharray="6 4"`
		}
		fmt.Fprintf(b, `<polyline points="%s" fill="none" stroke="%s" stroke-width="2"%s/>`+"\n", strings.Join(pts, " "), s.color, dash)
		for _, p := range pts {
			cx, cy, _ := strings.Cut(p, ",")
			fill := s.color
			if s.dashed {
				fill = "#ffffff"
			}
			fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="3.5" fill="%s" stroke="%s" stroke-width="1.5"/>`+"\n", cx, cy, fill, s.color)
		}
	}
}

// logRange returns the decades that enclose every positive value.
func logRange(lines []series) (lo, hi float64, ok bool) {
	lo, hi = math.Inf(1), 0
	for _, s := range lines {
		for _, v := range s.values {
			if v > 0 {
				lo, hi = math.Min(lo, v), math.Max(hi, v)
			}
		}
	}
	if hi == 0 {
		return 0, 0, false
	}
	lo = math.Pow(10, math.Floor(math.Log10(lo)))
	hi = math.Pow(10, math.Ceil(math.Log10(hi)))
	if hi <= lo {
		hi = lo * 10
	}
	return lo, hi, true
}

// axisLabel writes a power of ten compactly: 0.1, 1, 10, 1k, 10k, 1M.
func axisLabel(v float64) string {
	switch {
	case v >= 1e6:
		return strconv.FormatFloat(v/1e6, 'f', -1, 64) + "M"
	case v >= 1e3:
		return strconv.FormatFloat(v/1e3, 'f', -1, 64) + "k"
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// legend names the scenarios' colours and the two line styles.
func legend(b *bytes.Buffer, names []string) {
	y := float64(panelTop + panelH + 75)
	x := 80.0
	for i, name := range names {
		color := scenarioColors[i%len(scenarioColors)]
		fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="%s" stroke-width="3"/>`+"\n", x, y-4, x+24, y-4, color)
		text(b, x+30, y, "start", 12, "", name)
		x += 40 + 8*float64(len(name))
	}
	x += 30
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#444444" stroke-width="2"/>`+"\n", x, y-4, x+24, y-4)
	text(b, x+30, y, "start", 12, "", "HTTP")
	x += 80
	fmt.Fprintf(b, `<line x1="%.1f" y1="%.1f" x2="%.1f" y2="%.1f" stroke="#444444" stroke-width="2" stroke-dasharray="6 4"/>`+"\n", x, y-4, x+24, y-4)
	text(b, x+30, y, "start", 12, "", "ceiling (same SQL through pgx, no HTTP)")
}

// text writes a text element; s is escaped.
func text(b *bytes.Buffer, x, y float64, anchor string, size int, weight, s string) {
	w := ""
	if weight != "" {
		w = ` font-weight="` + weight + `"`
	}
	fmt.Fprintf(b, `<text x="%.1f" y="%.1f" text-anchor="%s" font-size="%d"%s>%s</text>`+"\n", x, y, anchor, size, w, html.EscapeString(s))
}
