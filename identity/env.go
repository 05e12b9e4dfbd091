package identity

import "fmt"

// Environment partitions an organization's data: every organization has a
// sandbox and a production directory. An API credential belongs to one
// environment and sees only its data.
type Environment string

// The two environments. Cryptr's wire format calls production "default" in
// `dbs` and `__database__`.
const (
	Sandbox    Environment = "sandbox"
	Production Environment = "production"
)

// ParseEnvironment accepts "sandbox", "production" and Cryptr's "default".
func ParseEnvironment(s string) (Environment, error) {
	switch s {
	case "sandbox":
		return Sandbox, nil
	case "production", "default":
		return Production, nil
	}
	return "", Invalid("environment", fmt.Sprintf("must be sandbox or production, not %q", s))
}

// Valid reports whether e is one of the two environments.
func (e Environment) Valid() bool { return e == Sandbox || e == Production }

// DBS is the environment as Cryptr writes it in `dbs` and `__database__`:
// "sandbox" or "default".
func (e Environment) DBS() string {
	if e == Production {
		return "default"
	}
	return string(e)
}
