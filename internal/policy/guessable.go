package policy

import (
	"regexp"
	"regexp/syntax"
	"strings"
	"unicode"

	"go.yaml.in/yaml/v3"
)

// A verifiedBy rule is only as strong as its request message: the PLS of a
// shared private link is usually visible to anyone, so anybody can send a
// Pending request, and a guessable message lets an outsider stand next to the
// real request (plsgate then approves neither: see internal/reconcile).

// minMessageLiterals is the least number of literal characters a verifiedBy
// rule's requestMessage should require.
const minMessageLiterals = 12

// docsPhrase is the request message of the Azure documentation's examples.
const docsPhrase = "please approve"

// warnGuessable warns about a verifiedBy rule whose request message is
// absent, matches the documentation's phrase in any letter case, or requires
// fewer than minMessageLiterals literal characters.
func (l *loader) warnGuessable(ms []matcher, verifiedLine int, path string, message *yaml.Node, messagePath string) {
	var re *regexp.Regexp
	for i := range ms {
		if ms[i].kind == kindRegex && ms[i].field == fieldConnDescription {
			re = ms[i].re
		}
	}
	const advice = "the PLS is usually visible to anyone, so use an unguessable request message (at least %d literal characters, not the documentation's %q) that only your shared private link resource carries"
	if re == nil || message == nil {
		l.warnf(verifiedLine, path+".verifiedBy", "no requestMessage: anybody can send a Pending request with any message; "+advice, minMessageLiterals, docsPhrase)
		return
	}
	line := deref(message).Line
	if matchesAnyCase(re, docsPhrase) {
		l.warnf(line, messagePath, "/%s/ matches %q (in some letter case): "+advice, re.String(), docsPhrase, minMessageLiterals, docsPhrase)
	}
	if n := literalChars(re.String()); n < minMessageLiterals {
		l.warnf(line, messagePath, "/%s/ requires only %d literal characters: "+advice, re.String(), n, minMessageLiterals, docsPhrase)
	}
}

// matchesAnyCase reports whether re matches some letter-case variant of
// phrase (an ASCII phrase). Without inline flags, re made case-insensitive
// answers at once; otherwise (a flag could turn folding off again) each of
// the 2^letters variants is tried, a few thousand.
func matchesAnyCase(re *regexp.Regexp, phrase string) bool {
	if !strings.Contains(re.String(), "(?") {
		if folded, err := regexp.Compile("(?i:" + re.String() + ")"); err == nil {
			return folded.MatchString(phrase)
		}
	}
	var letters []int
	for i := 0; i < len(phrase); i++ {
		if unicode.IsLetter(rune(phrase[i])) {
			letters = append(letters, i)
		}
	}
	b := []byte(strings.ToLower(phrase))
	for mask := 0; mask < 1<<len(letters); mask++ {
		for j, i := range letters {
			if mask&(1<<j) != 0 {
				b[i] = byte(unicode.ToUpper(rune(phrase[i])))
			} else {
				b[i] = byte(unicode.ToLower(rune(phrase[i])))
			}
		}
		if re.Match(b) {
			return true
		}
	}
	return false
}

// literalChars is the least number of literal characters any string the
// regex matches must contain: literals count, classes, wildcards and optional
// parts do not, an alternation counts its weakest branch.
func literalChars(expr string) int {
	re, err := syntax.Parse(expr, syntax.Perl)
	if err != nil {
		return 0
	}
	return minLiterals(re)
}

func minLiterals(re *syntax.Regexp) int {
	const ceiling = 1 << 20 // repeats cannot overflow
	switch re.Op {
	case syntax.OpLiteral:
		return len(re.Rune)
	case syntax.OpCapture, syntax.OpPlus:
		return minLiterals(re.Sub[0])
	case syntax.OpRepeat:
		return min(re.Min*minLiterals(re.Sub[0]), ceiling)
	case syntax.OpConcat:
		n := 0
		for _, s := range re.Sub {
			n = min(n+minLiterals(s), ceiling)
		}
		return n
	case syntax.OpAlternate:
		n := ceiling
		for _, s := range re.Sub {
			n = min(n, minLiterals(s))
		}
		return n
	}
	return 0 // classes, wildcards, anchors, empty, star, quest
}
