package bench

import (
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strings"
)

// Distribution is how a load picks the tenant of each request.
type Distribution struct {
	// Name is "uniform" (every tenant alike) or "zipf": the tenant of rank
	// k (tenant t<k>, t1 the hottest) with probability proportional to
	// 1/k^Exponent, as real SaaS traffic is, few tenants hot and most idle.
	Name     string  `json:"name"`
	Exponent float64 `json:"zipf_exponent,omitempty"`
}

func (d Distribution) String() string {
	if d.Name == "zipf" {
		return fmt.Sprintf("zipf %g", d.Exponent)
	}
	return d.Name
}

// parseDistributions reads -distribution's comma-separated list.
func parseDistributions(list string, exponent float64) ([]Distribution, error) {
	if !(exponent > 0) || math.IsInf(exponent, 0) {
		return nil, fmt.Errorf("-zipf-exponent: %g is not a positive number", exponent)
	}
	var out []Distribution
	for _, f := range strings.Split(list, ",") {
		var d Distribution
		switch f = strings.TrimSpace(f); f {
		case "uniform":
			d = Distribution{Name: f}
		case "zipf":
			d = Distribution{Name: f, Exponent: exponent}
		default:
			return nil, fmt.Errorf("-distribution: %q is neither uniform nor zipf", f)
		}
		if !slices.Contains(out, d) {
			out = append(out, d)
		}
	}
	return out, nil
}

// picker draws tenants per a Distribution. Zipf uses an inverse-CDF table
// of its own rather than math/rand/v2's Zipf, which only takes exponents
// above 1 and draws (v+k)^-s: the table takes any exponent, is exact for
// 1/k^s over exactly len(tenants) ranks, and costs 8 bytes a tenant and a
// binary search a draw.
type picker struct {
	tenants []*tenant
	cdf     []float64 // cumulative weights by rank; nil for uniform
}

func newPicker(tenants []*tenant, d Distribution) *picker {
	p := &picker{tenants: tenants}
	if d.Name == "zipf" && len(tenants) > 1 {
		p.cdf = make([]float64, len(tenants))
		sum := 0.0
		for k := range p.cdf {
			sum += math.Pow(float64(k+1), -d.Exponent)
			p.cdf[k] = sum
		}
	}
	return p
}

// pick draws one tenant.
func (p *picker) pick(rng *rand.Rand) *tenant {
	if p.cdf == nil {
		return p.tenants[rng.IntN(len(p.tenants))]
	}
	u := rng.Float64() * p.cdf[len(p.cdf)-1]
	k, _ := slices.BinarySearch(p.cdf, u)
	return p.tenants[min(k, len(p.tenants)-1)]
}

// share is the probability that pick draws the tenant of rank k (from 0).
func (p *picker) share(k int) float64 {
	if p.cdf == nil {
		return 1 / float64(len(p.tenants))
	}
	w := p.cdf[k]
	if k > 0 {
		w -= p.cdf[k-1]
	}
	return w / p.cdf[len(p.cdf)-1]
}
