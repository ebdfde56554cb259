/** The one Lambda context fixture tests share (as Powertools' testing package does). */
import { lambdaContext } from '../../local/lambda-http-server';

export const context = lambdaContext('mlp-test-function', 'c6af9ac6-7b61-11e6-9a41-93e812345678');
