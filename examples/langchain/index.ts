/**
 * LangChain.js: the callback handler on a retrieval chain (fake chat model, a real retriever).
 * Run: npx tsx examples/langchain/index.ts
 */
import { Document } from '@langchain/core/documents';
import { ChatPromptTemplate } from '@langchain/core/prompts';
import { BaseRetriever } from '@langchain/core/retrievers';
import { RunnableLambda, RunnableSequence } from '@langchain/core/runnables';
import { FakeListChatModel } from '@langchain/core/utils/testing';
import { audit } from '../../src/index.js';
import { SealtrailCallbackHandler } from '../../src/integrations/langchain/index.js';
import { exampleDir, showTrail } from '../shared.js';

class Policies extends BaseRetriever {
  override lc_namespace = ['example'];
  override async _getRelevantDocuments(): Promise<Document[]> {
    return [
      new Document({
        pageContent: 'Refunds are accepted within 30 days.',
        metadata: { source: 'refunds.md' },
      }),
    ];
  }
}

const dir = exampleDir('langchain');
await audit.enable({ destination: dir, environment: 'development', content: 'plain' });
const retriever = new Policies();
const chain = RunnableSequence.from([
  {
    context: RunnableLambda.from(async (q: string, config) =>
      (await retriever.invoke(q, config)).map((d) => d.pageContent).join('\n'),
    ),
    question: (q: string) => q,
  },
  ChatPromptTemplate.fromMessages([
    ['system', 'Answer from: {context}'],
    ['human', '{question}'],
  ]),
  new FakeListChatModel({ responses: ['Within 30 days.'] }),
]);
const answer = await chain.invoke('How long do I have for a refund?', {
  callbacks: [new SealtrailCallbackHandler()],
});
console.log(`answer: ${answer.content}`);
await audit.disable();
await showTrail(dir);
