// The generator: read the object into a model, write the model out.
#include "generate.hpp"

#include <utility>

#include "model.hpp"

namespace gen {

Output generate(std::span<const char> bytes, const Options& options) {
    SkeletonModel model = read_object(bytes, options);
    return {emit(model), std::move(model.warnings)};
}

}  // namespace gen
