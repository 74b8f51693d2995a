#pragma once
// The ui library's Qt resources (icons) live in a static library, whose resource
// initialiser the linker would drop unless someone refers to it: widgets that use
// ":/traclens/..." call this first. Idempotent and cheap.

namespace traclens {
void ensureUiResources();
}
