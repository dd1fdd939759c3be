package cardmaskprocessor

import "strings"

// Card numbers are 13 to 19 digits (ISO/IEC 7812), written whole or in groups separated
// by single spaces or dashes ("4111 1111 1111 1111", "3782-822463-10005").
const (
	minCardDigits = 13
	maxCardDigits = 19
)

// group is one run of digits, text[start:end].
type group struct{ start, end int }

// Mask replaces every card number in text with replacement and says whether it did. A card
// number is a run of digit groups that starts and ends on a word boundary, has 13 to 19
// digits, begins with an issuer's prefix and passes the Luhn check: a random id of that
// length passes it one time in ten, and a longer run of digits (a timestamp, a hash) is
// never cut into one.
func Mask(text, replacement string) (string, bool) {
	if countDigits(text) < minCardDigits {
		return text, false
	}
	var out strings.Builder
	copied := 0
	for i := 0; i < len(text); {
		if !isDigit(text[i]) || (i > 0 && isWordByte(text[i-1])) {
			i++
			continue
		}
		groups := digitGroups(text, i)
		runEnd := groups[len(groups)-1].end
		for _, card := range cardsIn(text, groups) {
			out.WriteString(text[copied:card.start])
			out.WriteString(replacement)
			copied = card.end
		}
		i = runEnd
	}
	if copied == 0 {
		return text, false
	}
	out.WriteString(text[copied:])
	return out.String(), true
}

// digitGroups reads the groups of digits from text[start:], separated by one space or dash.
func digitGroups(text string, start int) []group {
	var groups []group
	i := start
	for {
		g := group{start: i}
		for i < len(text) && isDigit(text[i]) {
			i++
		}
		g.end = i
		groups = append(groups, g)
		if i+1 < len(text) && (text[i] == ' ' || text[i] == '-') && isDigit(text[i+1]) {
			i++
			continue
		}
		return groups
	}
}

// cardsIn finds the card numbers among consecutive groups, leftmost first and each as long
// as it can be. A card may end before the run does (the next group is another number), but
// a run that ends in a letter ("4111111111111111abc") is an identifier, not a card.
func cardsIn(text string, groups []group) []group {
	var cards []group
	last := len(groups) - 1
	endsOnBoundary := groups[last].end == len(text) || !isWordByte(text[groups[last].end])
	for a := 0; a <= last; a++ {
		for b := last; b >= a; b-- {
			if b == last && !endsOnBoundary {
				continue
			}
			digits := digitsOf(text, groups[a:b+1])
			if isCardNumber(digits) {
				cards = append(cards, group{groups[a].start, groups[b].end})
				a = b
				break
			}
		}
	}
	return cards
}

func digitsOf(text string, groups []group) string {
	var b strings.Builder
	for _, g := range groups {
		b.WriteString(text[g.start:g.end])
	}
	return b.String()
}

func isCardNumber(digits string) bool {
	return len(digits) >= minCardDigits && len(digits) <= maxCardDigits &&
		hasIssuerPrefix(digits) && passesLuhn(digits)
}

// hasIssuerPrefix: the major industry identifiers of payment cards, 3 to 6 (American
// Express, Diners, JCB, Visa, Mastercard, Discover, UnionPay, Maestro), and Mastercard's
// 2221-2720 series.
func hasIssuerPrefix(digits string) bool {
	if digits[0] >= '3' && digits[0] <= '6' {
		return true
	}
	prefix := digits[:4]
	return prefix >= "2221" && prefix <= "2720"
}

// passesLuhn: every second digit from the right doubled (9 subtracted when over 9), the
// sum a multiple of ten.
func passesLuhn(digits string) bool {
	sum := 0
	for i := len(digits) - 1; i >= 0; i-- {
		d := int(digits[i] - '0')
		if (len(digits)-1-i)%2 == 1 {
			d *= 2
			if d > 9 {
				d -= 9
			}
		}
		sum += d
	}
	return sum%10 == 0
}

func countDigits(text string) int {
	n := 0
	for i := 0; i < len(text); i++ {
		if isDigit(text[i]) {
			n++
		}
	}
	return n
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

// isWordByte is RE2's \w: what a word boundary separates.
func isWordByte(c byte) bool {
	return isDigit(c) || c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z')
}
