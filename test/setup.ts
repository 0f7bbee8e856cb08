// cdktf's jest matchers: toHaveResource, toHaveResourceWithProperties, toHaveDataSource...
// The import brings their type declarations; setupJest registers them.
import "cdktf/lib/testing/adapters/jest";
import { Testing } from "cdktf";

Testing.setupJest();
