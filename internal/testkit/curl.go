package testkit

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
)

// Curl is what curl (8.x) sends for a command line: tests replay a
// document's curl samples exactly as a reader running them would send
// them.
type Curl struct {
	// Method is -X/--request, else POST when there is data, else GET.
	Method string
	// URL is the command's URL, as written.
	URL string
	// Header holds curl's default headers (User-Agent, Accept: */*, and
	// Content-Type: application/x-www-form-urlencoded when there is data)
	// overridden by -H/--header.
	Header http.Header
	// Body is the -d/--data/--data-raw values joined with "&".
	Body string
}

// ParseCurl parses a curl command line: shell words ('…', "…" with \" \\
// \$ escapes, backslash escapes; a backslash before a space or a newline
// is a line continuation, as documents that flatten their samples write
// it) and the options -X/--request, -H/--header, -d/--data/--data-raw/
// --data-ascii/--data-binary, and --location, -L, -g, --globoff, -v and
// -s, which change nothing that is sent. Any other option is an error.
func ParseCurl(line string) (*Curl, error) {
	words, err := shellWords(line)
	if err != nil {
		return nil, err
	}
	if len(words) == 0 || words[0] != "curl" {
		return nil, fmt.Errorf("not a curl command: %q", line)
	}
	c := &Curl{Header: http.Header{"User-Agent": {"curl/8.5.0"}, "Accept": {"*/*"}}}
	var data []string
	sawData := false
	for i := 1; i < len(words); i++ {
		w := words[i]
		value := func() (string, error) {
			i++
			if i >= len(words) {
				return "", fmt.Errorf("%s without a value", w)
			}
			return words[i], nil
		}
		switch w {
		case "-X", "--request", "-H", "--header", "-d", "--data", "--data-raw", "--data-ascii", "--data-binary":
			v, err := value()
			if err != nil {
				return nil, err
			}
			switch w {
			case "-X", "--request":
				c.Method = v
			case "-H", "--header":
				name, val, ok := strings.Cut(v, ":")
				if !ok {
					return nil, fmt.Errorf("bad header %q", v)
				}
				c.Header.Set(strings.TrimSpace(name), strings.TrimSpace(val))
			default:
				data = append(data, v)
				sawData = true
			}
		case "--location", "-L", "-g", "--globoff", "-v", "-s":
		default:
			if strings.HasPrefix(w, "-") {
				return nil, fmt.Errorf("option %s is not emulated", w)
			}
			c.URL = w
		}
	}
	if sawData {
		c.Body = strings.Join(data, "&")
		if c.Header.Get("Content-Type") == "" {
			c.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
	}
	if c.Method == "" {
		c.Method = http.MethodGet
		if sawData {
			c.Method = http.MethodPost
		}
	}
	return c, nil
}

// Request returns the request curl sends, for a handler: the URL from
// prefix on (the first occurrence of "/api/", say) on host
// gatehouse.test.
func (c *Curl) Request(prefix string) (*http.Request, error) {
	i := strings.Index(c.URL, prefix)
	if i < 0 {
		return nil, fmt.Errorf("no %s in %q", prefix, c.URL)
	}
	r := httptest.NewRequest(c.Method, "http://gatehouse.test"+c.URL[i:], strings.NewReader(c.Body))
	r.Header = c.Header.Clone()
	return r, nil
}

func shellWords(line string) ([]string, error) {
	var words []string
	var cur strings.Builder
	inWord := false
	for i := 0; i < len(line); i++ {
		c := line[i]
		switch {
		case c == '\\' && i+1 < len(line) && (line[i+1] == ' ' || line[i+1] == '\n'):
			i++
		case c == ' ' || c == '\t' || c == '\n':
			if inWord {
				words = append(words, cur.String())
				cur.Reset()
				inWord = false
			}
		case c == '\'':
			j := strings.IndexByte(line[i+1:], '\'')
			if j < 0 {
				return nil, errors.New("unterminated '")
			}
			cur.WriteString(line[i+1 : i+1+j])
			i += j + 1
			inWord = true
		case c == '"':
			i++
			for ; i < len(line) && line[i] != '"'; i++ {
				if line[i] == '\\' && i+1 < len(line) && strings.IndexByte(`"\$`, line[i+1]) >= 0 {
					i++
				}
				cur.WriteByte(line[i])
			}
			if i >= len(line) {
				return nil, errors.New(`unterminated "`)
			}
			inWord = true
		case c == '\\' && i+1 < len(line):
			i++
			cur.WriteByte(line[i])
			inWord = true
		default:
			cur.WriteByte(c)
			inWord = true
		}
	}
	if inWord {
		words = append(words, cur.String())
	}
	return words, nil
}
