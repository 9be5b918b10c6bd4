package policy

import (
	"fmt"
	"reflect"
	"strings"
	"time"

	"cel.dev/cel-go/cel"
	"cel.dev/cel-go/ext"
	"cel.dev/cel-go/interpreter"
)

// celCostLimit bounds one `when` evaluation. Plain comparisons cost a handful of units;
// the limit only stops runaway comprehensions over lists (fqdns, visibility).
const celCostLimit = 100_000

// newCELEnv declares the typed environment: resource, pls, connection and requester are
// the Go structs (field names from their json tags, so a misspelt field fails
// type-checking) and now is a timestamp.
func newCELEnv() (*cel.Env, error) {
	return cel.NewEnv(
		ext.NativeTypes(reflect.TypeFor[Resource](), reflect.TypeFor[PLS](), reflect.TypeFor[Connection](), reflect.TypeFor[Requester](),
			ext.ParseStructTag("json")),
		cel.Variable("resource", cel.ObjectType("policy.Resource")),
		cel.Variable("pls", cel.ObjectType("policy.PLS")),
		cel.Variable("connection", cel.ObjectType("policy.Connection")),
		cel.Variable("requester", cel.ObjectType("policy.Requester")),
		cel.Variable("now", cel.TimestampType),
		ext.Strings(),
	)
}

type celCond struct {
	src   string
	prg   cel.Program
	false string // trace reason when the expression is false
}

// compileCEL parses, type-checks (the result must be bool) and plans src. On error,
// line is the 1-based line inside src of the first problem (0 if unknown).
func compileCEL(env *cel.Env, src string) (c *celCond, line int, err error) {
	ast, iss := env.Compile(src)
	if iss != nil && iss.Err() != nil {
		msgs := make([]string, 0, len(iss.Errors()))
		for i, e := range iss.Errors() {
			if i == 0 {
				line = e.Location.Line()
			}
			msgs = append(msgs, fmt.Sprintf("%s (at %d:%d)", e.Message, e.Location.Line(), e.Location.Column()+1))
		}
		return nil, line, fmt.Errorf("CEL: %s", strings.Join(msgs, "; "))
	}
	if t := ast.OutputType(); !t.IsExactType(cel.BoolType) {
		return nil, 0, fmt.Errorf("CEL: the expression must be a bool, it is %s", t)
	}
	prg, err := env.Program(ast, cel.CostLimit(celCostLimit), cel.EvalOptions(cel.OptOptimize))
	if err != nil {
		return nil, 0, fmt.Errorf("CEL: plan: %w", err)
	}
	short := strings.Join(strings.Fields(src), " ")
	if r := []rune(short); len(r) > 120 {
		short = string(r[:117]) + "..."
	}
	return &celCond{src: src, prg: prg, false: "when: false: " + short}, 0, nil
}

// eval runs the condition. Any error means "does not match": never approve on error.
func (c *celCond) eval(a *celActivation) (bool, string) {
	out, _, err := c.prg.Eval(a)
	if err != nil {
		return false, "when: CEL evaluation failed, so the rule does not match: " + err.Error()
	}
	if b, ok := out.Value().(bool); ok && b {
		return true, ""
	} else if !ok {
		return false, fmt.Sprintf("when: CEL returned %v, not a bool, so the rule does not match", out.Value())
	}
	return false, c.false
}

// celActivation resolves the CEL variables without building a map. It holds copies so the
// caller's Facts do not escape to the heap when no rule has a `when`.
type celActivation struct {
	res  Resource
	pls  PLS // empty unless the resource is a private link service
	conn Connection
	req  Requester
	now  time.Time
}

func newActivation(f *Facts, c *evalCtx) *celActivation {
	a := &celActivation{conn: f.Connection, req: f.Requester, now: f.Now}
	if f.Resource.ID == "" && f.Resource.Type == "" {
		a.res = f.PLS.asResource("")
	} else {
		a.res = f.Resource
	}
	// CEL sees the same derived facts the matchers use.
	a.res.Type, a.res.SubscriptionID, a.res.ResourceGroup, a.res.Name = c.str[fieldResType], c.str[fieldResSubscription], c.str[fieldResResourceGroup], c.str[fieldResName]
	if c.isPLS {
		a.pls = a.res.asPLS()
	}
	a.req.SubscriptionID, a.req.ResourceGroup = c.str[fieldReqSubscription], c.str[fieldReqResourceGroup]
	if a.now.IsZero() {
		a.now = time.Now()
	}
	return a
}

func (a *celActivation) ResolveName(name string) (any, bool) {
	switch name {
	case "resource":
		return &a.res, true
	case "pls":
		return &a.pls, true
	case "connection":
		return &a.conn, true
	case "requester":
		return &a.req, true
	case "now":
		return a.now, true
	}
	return nil, false
}

func (a *celActivation) Parent() interpreter.Activation { return nil }
