# Sourced by the bench scripts: ensure_fashion_mnist_project CLI PROJECT builds the
# Fashion-MNIST project with the CLI (import, train the built-in CNN 3 epochs, compute)
# unless PROJECT already has complete factors.
ensure_fashion_mnist_project() {
  local cli=$1 project=$2
  mkdir -p "$(dirname "$project")"
  if ! "$cli" info "$project" --json --quiet 2>/dev/null | grep -q '"factors_complete": true'; then
    "$cli" import "$project" /usr/share/datasets/fashion-mnist --quiet
    if "$cli" info "$project" --json | tr -d ' \n' | grep -q '"models":\[\]'; then
      /usr/bin/time -v "$cli" train "$project" --epochs 3 2>&1 | grep -E "epoch|model|Elapsed|Maximum resident" || true
    fi
    "$cli" compute "$project" --quiet
  fi
}
