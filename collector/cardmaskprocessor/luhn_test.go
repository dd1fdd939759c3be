package cardmaskprocessor

import "testing"

func TestMask(t *testing.T) {
	cases := []struct{ text, want string }{
		// Test numbers the card networks publish, as people write them.
		{"card 4111 1111 1111 1111, thanks", "card <card-number>, thanks"},
		{"amex 3782-822463-10005.", "amex <card-number>."},
		{"mc 5555555555554444 and 2223003122003222", "mc <card-number> and <card-number>"},
		{`{"card":"6011111111111117"}`, `{"card":"<card-number>"}`},
		{"order 12 4111111111111111", "order 12 <card-number>"},
		{"4111111111111111 555 0100", "<card-number> 555 0100"},
		// One digit off: the Luhn check fails.
		{"card 4111 1111 1111 1112", "card 4111 1111 1111 1112"},
		// No issuer begins with 1, 7, 8, 9 or 0: timestamps and most ids.
		{"ts 1765046400123456789", "ts 1765046400123456789"},
		{"id 9111111111111111", "id 9111111111111111"},
		// A longer run of digits, or one inside a word, is not a card.
		{"hash 41111111111111110000000", "hash 41111111111111110000000"},
		{"x4111111111111111", "x4111111111111111"},
		{"4111111111111111abc", "4111111111111111abc"},
		{"short 4111 1111", "short 4111 1111"},
	}
	for _, c := range cases {
		got, changed := Mask(c.text, "<card-number>")
		if got != c.want {
			t.Errorf("Mask(%q) = %q, want %q", c.text, got, c.want)
		}
		if changed != (c.text != c.want) {
			t.Errorf("Mask(%q) changed = %v", c.text, changed)
		}
	}
}

func TestConfigRefusesAnEmptyReplacement(t *testing.T) {
	if err := (&Config{}).Validate(); err == nil {
		t.Error("an empty replacement was accepted")
	}
}
