package pipeline

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/layout"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/google/go-containerregistry/pkg/v1/remote/transport"
)

// PushOptions configure PushLayout.
type PushOptions struct {
	// Through, when set, is a base URL (http://host:port) that every registry
	// request goes to instead of the reference's own host: a stand-in
	// registry serving an ECR host name it does not own.
	Through string
	// Canonical rewrites every timestamp in the image (config, history, file
	// times in layers) to the Unix epoch and drops host-dependent config
	// fields, so the same files give the same digest wherever and whenever
	// they were built.
	Canonical bool
}

// PushLayout pushes the image in an OCI image layout tarball (as Dagger's
// Container.asTarball writes it: one image, or an index of platform
// variants) to ref, authenticated with creds, and returns
// ref@sha256:digest.
func PushLayout(ctx context.Context, tarball string, ref string, creds RegistryCredentials, opts PushOptions) (string, error) {
	tag, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	dir, err := os.MkdirTemp("", "oci-layout-")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(dir)
	if err := untar(tarball, dir); err != nil {
		return "", fmt.Errorf("reading image tarball: %w", err)
	}
	p, err := layout.FromPath(dir)
	if err != nil {
		return "", fmt.Errorf("reading image tarball: %w", err)
	}
	top, err := p.ImageIndex()
	if err != nil {
		return "", fmt.Errorf("reading image tarball: %w", err)
	}
	im, err := top.IndexManifest()
	if err != nil {
		return "", fmt.Errorf("reading image tarball: %w", err)
	}
	if len(im.Manifests) != 1 {
		return "", fmt.Errorf("reading image tarball: index.json lists %d manifests, want 1", len(im.Manifests))
	}
	desc := im.Manifests[0]
	if !desc.MediaType.IsIndex() {
		img, err := top.Image(desc.Digest)
		if err != nil {
			return "", fmt.Errorf("reading image tarball: %w", err)
		}
		return PushImage(ctx, img, ref, creds, opts)
	}

	idx, err := top.ImageIndex(desc.Digest)
	if err != nil {
		return "", fmt.Errorf("reading image tarball: %w", err)
	}
	if opts.Canonical {
		if idx, err = canonicalIndex(idx); err != nil {
			return "", err
		}
	}
	remoteOpts, err := pushOptions(ctx, ref, creds, opts)
	if err != nil {
		return "", err
	}
	if err := remote.WriteIndex(tag, idx, remoteOpts...); err != nil {
		return "", PushError(ref, err)
	}
	digest, err := idx.Digest()
	if err != nil {
		return "", err
	}
	return tag.String() + "@" + digest.String(), nil
}

// PushImage pushes one image to ref, as PushLayout does, and returns
// ref@sha256:digest.
func PushImage(ctx context.Context, img v1.Image, ref string, creds RegistryCredentials, opts PushOptions) (string, error) {
	tag, err := name.NewTag(ref, name.StrictValidation)
	if err != nil {
		return "", fmt.Errorf("pushing %s: %w", ref, err)
	}
	remoteOpts, err := pushOptions(ctx, ref, creds, opts)
	if err != nil {
		return "", err
	}
	if opts.Canonical {
		if img, err = canonical(img); err != nil {
			return "", fmt.Errorf("normalising the image: %w", err)
		}
	}
	if err := remote.Write(tag, img, remoteOpts...); err != nil {
		return "", PushError(ref, err)
	}
	digest, err := img.Digest()
	if err != nil {
		return "", err
	}
	return tag.String() + "@" + digest.String(), nil
}

// pushOptions are the go-containerregistry options for a push of ref.
func pushOptions(ctx context.Context, ref string, creds RegistryCredentials, opts PushOptions) ([]remote.Option, error) {
	var rt http.RoundTripper = http.DefaultTransport
	if opts.Through != "" {
		u, err := url.Parse(opts.Through)
		if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
			return nil, fmt.Errorf("pushing %s: registry URL %q is not http(s)://host:port", ref, opts.Through)
		}
		rt = &redirectHost{to: u, next: rt}
	}
	return []remote.Option{
		remote.WithContext(ctx),
		remote.WithAuth(&authn.Basic{Username: creds.Username, Password: creds.Password}),
		// go-containerregistry retries a dropped connection twice within
		// 0.4 s; a registry behind a proxy or a tunnel (a load balancer
		// restarting, Dagger's tunnel to a registry on the host) may drop
		// connections for seconds. Retried for about 8 s here (then twice
		// more by the library's own wrapping), 429 from ECR's throttling
		// too; a refused connection is not retried.
		remote.WithTransport(transport.NewRetry(rt,
			transport.WithRetryBackoff(transport.Backoff{Duration: 250 * time.Millisecond, Factor: 2, Jitter: 0.1, Steps: 6}),
			transport.WithRetryPredicate(droppedConnection),
			transport.WithRetryStatusCodes(http.StatusTooManyRequests, http.StatusRequestTimeout, http.StatusInternalServerError,
				http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout))),
	}, nil
}

// droppedConnection reports whether err is a connection the registry (or
// something on the way) dropped: worth sending the request again.
func droppedConnection(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

// epoch is the time a canonical image carries, as SOURCE_DATE_EPOCH=0 gives.
var epoch = time.Unix(0, 0).UTC()

// canonical is img with every timestamp set to the epoch and without the
// config fields that name the building host, as mutate.Canonical does but
// at the Unix epoch rather than year 1.
func canonical(img v1.Image) (v1.Image, error) {
	img, err := mutate.Time(img, epoch)
	if err != nil {
		return nil, err
	}
	cf, err := img.ConfigFile()
	if err != nil {
		return nil, err
	}
	cfg := cf.DeepCopy()
	cfg.Container, cfg.Config.Hostname, cfg.DockerVersion = "", "", ""
	return mutate.ConfigFile(img, cfg)
}

// canonicalIndex rebuilds an index with every image made canonical,
// keeping each image's platform, in the order of their platforms: an
// engine lists the variants in whichever order their builds finished.
func canonicalIndex(idx v1.ImageIndex) (v1.ImageIndex, error) {
	im, err := idx.IndexManifest()
	if err != nil {
		return nil, err
	}
	manifests := slices.Clone(im.Manifests)
	slices.SortStableFunc(manifests, func(a, b v1.Descriptor) int {
		return strings.Compare(platformKey(a.Platform), platformKey(b.Platform))
	})
	out := v1.ImageIndex(mutate.IndexMediaType(empty.Index, im.MediaType))
	for _, d := range manifests {
		img, err := idx.Image(d.Digest)
		if err != nil {
			return nil, fmt.Errorf("reading image tarball: %w", err)
		}
		if img, err = canonical(img); err != nil {
			return nil, fmt.Errorf("normalising the image: %w", err)
		}
		out = mutate.AppendManifests(out, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: d.Platform, Annotations: d.Annotations},
		})
	}
	return out, nil
}

// platformKey orders platforms: os/architecture/variant/os.version.
func platformKey(p *v1.Platform) string {
	if p == nil {
		return ""
	}
	return p.OS + "/" + p.Architecture + "/" + p.Variant + "/" + p.OSVersion
}

// redirectHost sends every request to another scheme and host.
type redirectHost struct {
	to   *url.URL
	next http.RoundTripper
}

// RoundTrip sends r to the other host, and makes the response look as if it
// came from r's own host: the client resolves upload locations against it
// and sends credentials only there.
func (t *redirectHost) RoundTrip(r *http.Request) (*http.Response, error) {
	out := r.Clone(r.Context())
	out.URL.Scheme, out.URL.Host = t.to.Scheme, t.to.Host
	out.Host = t.to.Host
	resp, err := t.next.RoundTrip(out)
	if err != nil {
		return nil, err
	}
	resp.Request = r
	if loc, err := url.Parse(resp.Header.Get("Location")); err == nil && loc.Host == t.to.Host {
		loc.Scheme, loc.Host = r.URL.Scheme, r.URL.Host
		resp.Header.Set("Location", loc.String())
	}
	return resp, nil
}

// untar extracts the regular files and directories of a tarball into dir,
// refusing paths that leave it.
func untar(tarball, dir string) error {
	f, err := os.Open(tarball)
	if err != nil {
		return err
	}
	defer f.Close()
	tr := tar.NewReader(f)
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		target := filepath.Join(dir, filepath.FromSlash(h.Name))
		if target != dir && !strings.HasPrefix(target, dir+string(filepath.Separator)) {
			return fmt.Errorf("%s: path leaves the layout", h.Name)
		}
		switch h.Typeflag {
		case tar.TypeDir:
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
		case tar.TypeReg:
			if err := os.MkdirAll(filepath.Dir(target), 0o755); err != nil {
				return err
			}
			out, err := os.Create(target)
			if err != nil {
				return err
			}
			_, err = io.Copy(out, tr)
			if cerr := out.Close(); err == nil {
				err = cerr
			}
			if err != nil {
				return err
			}
		}
	}
}
