package ops

import "testing"

func TestShortcutAStrides(t *testing.T) {
	tests := []struct {
		x, y   Shape
		sh, sw int
		ok     bool
	}{
		{Shape{2, 16, 32, 32}, Shape{2, 32, 16, 16}, 2, 2, true},
		{Shape{2, 3, 4, 4}, Shape{2, 6, 4, 4}, 1, 1, true},
		{Shape{1, 3, 7, 7}, Shape{1, 6, 4, 4}, 2, 2, true}, // ceil(7/4) = 2: x[..., ::2, ::2]
		{Shape{1, 3, 3, 3}, Shape{1, 3, 2, 2}, 2, 2, true},
		{Shape{1, 2, 7, 6}, Shape{1, 2, 4, 2}, 2, 3, true}, // strides may differ per axis
		{Shape{1, 2, 8, 8}, Shape{1, 2, 1, 1}, 8, 8, true},
		{Shape{1, 3, 5, 5}, Shape{1, 3, 4, 4}, 0, 0, false}, // stride 2 gives 3, stride 1 gives 5
		{Shape{1, 4, 4, 4}, Shape{1, 2, 2, 2}, 0, 0, false}, // fewer channels
		{Shape{2, 3, 4, 4}, Shape{1, 3, 2, 2}, 0, 0, false}, // batch differs
		{Shape{1, 3, 4, 4}, Shape{1, 3, 0, 2}, 0, 0, false},
		{Shape{1, 3, 4, 4}, Shape{1, 3, 8, 8}, 0, 0, false}, // no upsampling
	}
	for _, tc := range tests {
		sh, sw, ok := ShortcutAStrides(tc.x, tc.y)
		if sh != tc.sh || sw != tc.sw || ok != tc.ok {
			t.Errorf("ShortcutAStrides(%v, %v) = %d, %d, %v; want %d, %d, %v", tc.x, tc.y, sh, sw, ok, tc.sh, tc.sw, tc.ok)
		}
	}
}
