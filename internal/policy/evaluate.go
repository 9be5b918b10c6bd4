package policy

// Evaluate decides for one connection. It is pure and evaluates regardless of the
// connection's status (drift detection needs the decision for Approved ones too); only the
// caller decides whether to act. Rules are tried in order and the first whose matchers all
// hold (and whose `when`, if any, is true) decides; otherwise the default applies.
//
// Everything is compiled at load: a rule that does not match costs no allocation; the
// Trace slice is allocated once, the message only when rendered, CEL state only when a
// rule with `when` is reached.
func (p *Policy) Evaluate(f Facts) Decision {
	c := newEvalCtx(&f)
	trace := make([]RuleTrace, 0, len(p.rules))
	var act *celActivation
	for i := range p.rules {
		r := &p.rules[i]
		ok, why := r.matchStatic(&c)
		if ok && r.when != nil {
			if act == nil {
				act = newActivation(&f, &c)
			}
			ok, why = r.when.eval(act)
		}
		if !ok {
			trace = append(trace, RuleTrace{Rule: r.name, Reason: why})
			continue
		}
		trace = append(trace, RuleTrace{Rule: r.name, Matched: true, Reason: r.matched})
		return Decision{Action: r.action, Rule: r.name, Reason: r.reason, Message: r.message.render(r.name, &c), Trace: trace}
	}
	return Decision{Action: p.def, Reason: p.defReason, Trace: trace}
}

// NeedsVerification reports whether the verification fact name (e.g.
// "webPubSub") can change the decision for these facts: some rule that uses
// it matches on everything else, before any rule that decides without it.
// The caller skips the lookup (ARM reads) when it cannot matter. Pure.
func (p *Policy) NeedsVerification(f Facts, name string) bool {
	c := newEvalCtx(&f)
	for i := range p.rules {
		r := &p.rules[i]
		uses, others := false, true
		for j := range r.matchers {
			m := &r.matchers[j]
			if m.kind == kindVerified && m.verify == name {
				uses = true
				continue
			}
			if ok, _ := m.match(&c); !ok {
				others = false
				break
			}
		}
		switch {
		case !others:
			continue
		case uses:
			return true
		case r.when == nil:
			return false // this rule decides whatever the verification says
		}
		// A `when` may still fail: keep looking (conservative).
	}
	return false
}
