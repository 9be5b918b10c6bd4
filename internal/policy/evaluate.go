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
