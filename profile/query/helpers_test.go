package query

import (
	"encoding/json"
	"errors"
	"strings"
)

func asError(err error, target **Error) bool { return errors.As(err, target) }

func contains(s, sub string) bool { return strings.Contains(s, sub) }

func jsonNumber(s string) json.Number { return json.Number(s) }
