// Package ref holds what the module and the engine both need to know
// about images, with no AWS SDK: repository references, tags, and the
// commit a source is at. The module's own build imports only this and the
// Dagger API, so it loads like a small module.
package ref

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/google/go-containerregistry/pkg/name"
)

// ECRHost matches ECR registry hosts, including FIPS and China partitions:
// 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com.
var ECRHost = regexp.MustCompile(`^(\d{12})\.dkr\.ecr(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$`)

// Repository is an image repository without tag or digest, such as
// 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/team/app.
type Repository struct {
	// Registry is the host (and port) images are pushed to.
	Registry string
	// Name is the repository path inside the registry: team/app.
	Name string
	// AccountID and Region are set when Registry is an ECR host; another
	// host (a local stand-in for ECR) leaves them empty.
	AccountID string
	Region    string
}

// String returns registry/name.
func (r Repository) String() string { return r.Registry + "/" + r.Name }

// ParseRepository parses a repository reference. It must name its
// registry, and must not carry a tag or digest: publish adds those.
func ParseRepository(s string) (Repository, error) {
	first, _, hasPath := strings.Cut(s, "/")
	explicitHost := strings.ContainsAny(first, ".:") || first == "localhost"
	ref, err := name.NewRepository(s, name.StrictValidation)
	if err != nil || !hasPath || !explicitHost {
		return Repository{}, fmt.Errorf("repository %q: want registry/name without tag or digest, such as 123456789012.dkr.ecr.ap-northeast-1.amazonaws.com/app", s)
	}
	r := Repository{Registry: ref.RegistryStr(), Name: ref.RepositoryStr()}
	if m := ECRHost.FindStringSubmatch(r.Registry); m != nil {
		r.AccountID, r.Region = m[1], m[2]
	}
	return r, nil
}

// ECSName reports whether name is a valid cluster, service or task
// definition family name: 1 to 255 letters, digits, '_' and '-'. (The
// regular expression [A-Za-z0-9_-]{1,255} would compile 255 copies of its
// class at every start of every program that imports this package.)
func ECSName(name string) bool {
	return len(name) >= 1 && len(name) <= 255 && ecsNameChars.MatchString(name)
}

var ecsNameChars = regexp.MustCompile(`^[A-Za-z0-9_-]+$`)

// AWSRegion matches a region name such as ap-northeast-1.
var AWSRegion = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-\d$`)
