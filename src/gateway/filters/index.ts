export { buildFilter, buildPipeline, FILTER_NAMES, parseDuration } from './build.js';
export { DeviceFilters, type FilteredState } from './device-filters.js';
export { FilterConfigError } from './errors.js';
export { FilterPipeline } from './pipeline.js';
export type { CalibrationPoint, ClampOptions, DurationSpec, ExponentialMovingAverageOptions, Filter, FilterName, FilterSpec, WindowOptions } from './types.js';
export { fitLine, roundHalfAwayFromZero } from './value-filters.js';
