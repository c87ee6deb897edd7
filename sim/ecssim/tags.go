package ecssim

import "slices"

type tagResourceInput struct {
	ResourceArn string   `json:"resourceArn"`
	Tags        []tag    `json:"tags"`
	TagKeys     []string `json:"tagKeys"`
}

func (s *Simulator) tagResource(in *tagResourceInput) (any, *apiError) {
	if in.ResourceArn == "" {
		return nil, errInvalidParameter("resourceArn is required.")
	}
	tags := s.tags[in.ResourceArn]
	for _, nt := range in.Tags {
		tags = slices.DeleteFunc(tags, func(t tag) bool { return t.Key == nt.Key })
		tags = append(tags, nt)
	}
	s.tags[in.ResourceArn] = tags
	return map[string]any{}, nil
}

func (s *Simulator) untagResource(in *tagResourceInput) (any, *apiError) {
	s.tags[in.ResourceArn] = slices.DeleteFunc(s.tags[in.ResourceArn], func(t tag) bool {
		return slices.Contains(in.TagKeys, t.Key)
	})
	return map[string]any{}, nil
}

func (s *Simulator) listTagsForResource(in *tagResourceInput) (any, *apiError) {
	return map[string]any{"tags": nonNil(s.tags[in.ResourceArn])}, nil
}
