// Package lint holds checks of the repository's non-Go files: the GitHub
// Actions workflows in .github/ and in the starter kit (templates/).
package lint
