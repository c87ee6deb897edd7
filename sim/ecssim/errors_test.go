package ecssim_test

import (
	"errors"

	"github.com/aws/smithy-go"
)

// hasCode reports whether err is an API error with the given code.
func hasCode(err error, code string) bool {
	var apiErr smithy.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode() == code
}

func errorsAs(err error, target any) bool { return errors.As(err, target) }
